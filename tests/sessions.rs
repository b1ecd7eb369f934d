//! The sessions reducer: Tencent's own example and the cases around it, and, as properties,
//! that order, duplication and splitting of the input do not change its answer.
#![cfg(feature = "events")]

use proptest::prelude::*;
use tencent_css_errcode::Category;
use tencent_css_errcode::events::{StreamEvent, StreamEventInfo, format_utc_time};
use tencent_css_errcode::sessions::{
    ONLINE_GRACE, Online, Sessions, State, Stream, Streaming, WINDOW,
};

/// A callback of `domain`/live/`stream`: a start (`errcode` None) or an end.
fn event(
    domain: &str,
    stream: &str,
    sequence: &str,
    time: i64,
    end: Option<(u32, u64)>,
) -> StreamEvent {
    let mut body = serde_json::json!({
        "event_type": if end.is_some() { 0 } else { 1 }, "t": 0, "app": domain, "appname": "live",
        "stream_id": stream, "sequence": sequence, "event_time": time,
        "user_ip": format!("198.51.100.{}", sequence.len()), "node": "203.0.113.7",
    });
    if let Some((errcode, duration_ms)) = end {
        body["errcode"] = errcode.into();
        body["push_duration"] = duration_ms.to_string().into();
    }
    serde_json::from_value(body).unwrap()
}

fn start(sequence: &str, time: i64) -> StreamEvent {
    event("push.example.com", "room42", sequence, time, None)
}

fn end(sequence: &str, time: i64, errcode: u32, duration_ms: u64) -> StreamEvent {
    event(
        "push.example.com",
        "room42",
        sequence,
        time,
        Some((errcode, duration_ms)),
    )
}

fn reduce(events: &[StreamEvent]) -> Sessions {
    let mut sessions = Sessions::new();
    for event in events {
        sessions.add(event);
    }
    sessions
}

#[test]
fn tencents_example_start_seq1_start_seq2_end_seq1_is_live_on_seq2() {
    let sessions = reduce(&[
        start("seq1", 100),
        start("seq2", 130),
        end("seq1", 160, 1, 60_000),
    ]);
    let live = sessions.live();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].sequences, ["seq2"]);
    assert_eq!(live[0].since, 130);
    let all = sessions.sessions();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].sequence.as_deref(), all[0].state),
        (Some("seq1"), State::Ended)
    );
    assert_eq!(
        (all[1].sequence.as_deref(), all[1].state),
        (Some("seq2"), State::Live)
    );
}

#[test]
fn a_re_push_whose_start_arrives_before_the_old_end() {
    // The new push starts at 200 and its callback comes first; the old push's end (at 199)
    // comes after it: the stream stays live, on the new push.
    let sessions = reduce(&[
        start("old", 100),
        start("new", 200),
        end("old", 199, 12, 99_000),
    ]);
    assert_eq!(sessions.live()[0].sequences, ["new"]);
    let old = &sessions.sessions()[0];
    assert_eq!((old.state, old.duration), (State::Ended, Some(99)));
    assert_eq!(
        old.cause.as_ref().map(|c| c.category()),
        Some(Category::Network)
    );
}

#[test]
fn the_backup_push_ends_first_then_the_primary() {
    let mut sessions = reduce(&[
        start("primary", 100),
        start("backup", 101),
        end("backup", 150, 3, 49_000),
    ]);
    assert_eq!(
        sessions.live()[0].sequences,
        ["primary"],
        "one interruption is not off the air"
    );
    assert_eq!(sessions.live()[0].since, 100);
    sessions.add(&end("primary", 300, 1, 200_000));
    assert!(sessions.live().is_empty());
    assert!(sessions.sessions().iter().all(|s| s.state == State::Ended));
}

#[test]
fn an_end_without_its_start_is_a_whole_session() {
    let sessions = reduce(&[end("lonely", 1_000, 1, 61_500)]);
    let session = &sessions.sessions()[0];
    assert_eq!(session.start, Some(1_000 - 61));
    assert_eq!(session.end, Some(1_000));
    assert_eq!(session.duration, Some(61));
    assert_eq!(session.client_ip.as_deref(), Some("198.51.100.6"));
    assert!(sessions.live().is_empty());
}

#[test]
fn a_start_that_arrives_after_its_end_does_not_reopen_the_push() {
    let sessions = reduce(&[
        end("late", 500, 1, 400_000),
        start("late", 100),
        start("late", 100),
    ]);
    assert!(sessions.live().is_empty());
    let session = &sessions.sessions()[0];
    assert_eq!(
        (session.start, session.end, session.duration),
        (Some(100), Some(500), Some(400))
    );
}

#[test]
fn an_end_with_21_next_to_a_new_start_is_replaced_and_without_one_is_ended() {
    let replaced = reduce(&[start("a", 100), start("b", 198), end("a", 200, 21, 100_000)]);
    assert_eq!(replaced.sessions()[0].state, State::Replaced);
    assert_eq!(
        replaced.sessions()[0].cause.as_ref().map(|c| c.category()),
        Some(Category::Requested)
    );
    let requested = reduce(&[start("a", 100), start("b", 300), end("a", 200, 21, 100_000)]);
    assert_eq!(
        requested.sessions()[0].state,
        State::Ended,
        "no new push within 5 s"
    );
    let network = reduce(&[start("a", 100), start("b", 200), end("a", 200, 12, 100_000)]);
    assert_eq!(
        network.sessions()[0].state,
        State::Ended,
        "a network drop is not a replacement"
    );
}

#[test]
fn a_stream_name_reused_by_another_domain_is_another_stream() {
    let sessions = reduce(&[
        event("a.example.com", "room42", "1", 100, None),
        event("b.example.com", "room42", "2", 100, None),
        event("b.example.com", "room42", "2", 150, Some((1, 50_000))),
    ]);
    let live = sessions.live();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].stream.domain, "a.example.com");
}

#[test]
fn past_its_limit_a_reducer_says_it_is_approximate() {
    let mut sessions = Sessions::with_limit(2);
    for (n, time) in [("1", 1), ("2", 2), ("3", 3)] {
        sessions.add(&start(n, time));
    }
    sessions.add(&end("1", 9, 1, 8_000));
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.dropped(), 1);
    assert!(sessions.is_approximate());
    assert_eq!(
        sessions.sessions()[0].state,
        State::Ended,
        "a held push still takes its end"
    );
}

/// A set of events: for each of a few pushes of a few streams, a start, an end, or both.
/// A poll of DescribeLiveStreamOnlineList at `at` (every domain, AppName live) listing these
/// streams of push.example.com/live.
fn poll(at: i64, listed: &[(&str, i64)]) -> Online {
    listed
        .iter()
        .fold(Online::new(at, None, "live"), |poll, (name, since)| {
            poll.stream(Stream::new("push.example.com", "live", *name), [*since])
        })
}

#[test]
fn a_stream_the_api_lists_is_live_though_its_start_never_came() {
    let mut sessions = reduce(&[]);
    let changed = sessions.reconcile(&poll(1_000, &[("room42", 900)]));
    assert_eq!(changed.start_not_received, 1);
    let live = sessions.live();
    assert_eq!((live.len(), live[0].since), (1, 900));
    assert!(live[0].sequences.is_empty());
    let all = sessions.sessions();
    assert_eq!(
        (all[0].state, all[0].sequence.as_ref(), all[0].start),
        (State::StartNotReceived, None, Some(900))
    );
    // Its end callback comes later: the push is whole, ended, and the listing explained.
    sessions.add(&end("s1", 1_100, 1, 200_000));
    assert!(sessions.live().is_empty());
    let all = sessions.sessions();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0].state, all[0].start), (State::Ended, Some(900)));
}

#[test]
fn an_open_push_missing_from_two_polls_in_a_row_ended_unreceived() {
    let mut sessions = reduce(&[start("s1", 1_000)]);
    // Listed, missing, listed again: the count starts over.
    sessions.reconcile(&poll(1_100, &[("room42", 1_000)]));
    sessions.reconcile(&poll(1_200, &[]));
    sessions.reconcile(&poll(1_300, &[("room42", 1_000)]));
    sessions.reconcile(&poll(1_400, &[]));
    assert_eq!(sessions.sessions()[0].state, State::Live);
    let changed = sessions.reconcile(&poll(1_500, &[]));
    assert_eq!((changed.missed, changed.lost), (1, 1));
    assert!(sessions.live().is_empty());
    let push = &sessions.sessions()[0];
    assert_eq!(
        (push.state, push.end, push.cause.as_ref()),
        (State::EndNotReceived, None, None)
    );
    // The end comes after all: its time and cause win.
    sessions.add(&end("s1", 1_450, 3, 450_000));
    let push = &sessions.sessions()[0];
    assert_eq!((push.state, push.end), (State::Ended, Some(1_450)));
    assert!(push.cause.is_some());
}

#[test]
fn polls_count_only_within_their_scope_and_after_the_grace() {
    let other = event("push.example.com", "room7", "s7", 1_000, None);
    let mut sessions = reduce(&[other, start("s1", 1_000)]);
    // A poll of another AppName says nothing of live/room7 or live/room42.
    for at in [1_100, 1_200, 1_300] {
        sessions.reconcile(&Online::new(at, None, "edu"));
    }
    assert_eq!(sessions.live().len(), 2);
    // A push that started within ONLINE_GRACE of the poll is not missing yet.
    let mut fresh = reduce(&[start("s2", 1_000)]);
    for at in [1_010, 1_020, 1_030] {
        assert_eq!(fresh.reconcile(&poll(at, &[])).missed, 0);
    }
    assert_eq!(fresh.live().len(), 1);
    const { assert!(1_030 - 1_000 < ONLINE_GRACE) };
}

#[test]
fn a_poll_that_agrees_with_the_callbacks_changes_nothing() {
    let sessions = reduce(&[start("s1", 1_000), start("s2", 1_001)]);
    let before = (sessions.sessions(), sessions.live());
    let mut after = sessions.clone();
    after.reconcile(&poll(1_100, &[("room42", 1_000)]));
    assert_eq!(
        (after.sessions(), after.live()),
        before,
        "a poll that agrees changes nothing"
    );
}

/// A DescribeLiveStreamEventList record of push.example.com/live/room42.
fn record(start: i64, end: i64, stop_reason: &str) -> StreamEventInfo {
    serde_json::from_value(serde_json::json!({
        "AppName": "live", "DomainName": "push.example.com", "StreamName": "room42",
        "StreamStartTime": format_utc_time(start), "StreamEndTime": format_utc_time(end),
        "StopReason": stop_reason, "Duration": end - start, "ClientIp": "198.51.100.7",
        "Resolution": "1280*720"
    }))
    .unwrap()
}

#[test]
fn an_api_record_is_paired_with_its_callbacks_by_time_in_any_order() {
    let callbacks = [start("s1", 1_000), end("s1", 1_600, 12, 600_000)];
    // The API's times are a second off the callbacks'; a second record has no callbacks.
    let records = [
        record(1_001, 1_601, "推流链路网络异常(12)"),
        record(5_000, 5_300, "客户端主动断流"),
    ];
    let mut first = reduce(&callbacks);
    for r in &records {
        assert!(first.add_api_record(r));
    }
    let mut second = Sessions::new();
    for r in records.iter().rev() {
        second.add_api_record(r);
        second.add_api_record(r);
    }
    for event in callbacks.iter().rev() {
        second.add(event);
    }
    assert_eq!(first.sessions(), second.sessions());
    let all = first.sessions();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        (all[0].sequence.as_deref(), all[0].start),
        (Some("s1"), Some(1_000))
    );
    assert_eq!(
        (all[1].sequence.as_deref(), all[1].duration),
        (None, Some(300))
    );
    assert_eq!(
        all[1].cause.as_ref().unwrap().category(),
        Category::ClientClosed
    );
}

fn event_set() -> impl Strategy<Value = Vec<StreamEvent>> {
    let push = (
        0..3usize,
        0..6u32,
        0..400i64,
        prop::option::of((0..4u32, 1..300i64)),
        any::<bool>(),
    );
    prop::collection::vec(push, 1..25).prop_map(|pushes| {
        let mut events = Vec::new();
        for (stream, sequence, at, ended, with_start) in pushes {
            let (domain, name) = [
                ("a.example.com", "s"),
                ("b.example.com", "s"),
                ("a.example.com", "t"),
            ][stream];
            let sequence = sequence.to_string();
            if with_start || ended.is_none() {
                events.push(event(domain, name, &sequence, at, None));
            }
            if let Some((code, length)) = ended {
                let errcode = [1, 12, 21, 18][code as usize];
                events.push(event(
                    domain,
                    name,
                    &sequence,
                    at + length,
                    Some((errcode, length as u64 * 1_000)),
                ));
            }
        }
        events
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Any order and any duplication of the same events give the same sessions and live set.
    #[test]
    fn order_and_duplicates_do_not_matter(
        events in event_set(),
        seed in any::<u64>(),
        repeats in prop::collection::vec(0..3usize, 0..40),
    ) {
        let mut shuffled = events.clone();
        for (i, n) in repeats.iter().enumerate() {
            let again = events[i % events.len()].clone();
            for _ in 0..*n {
                shuffled.push(again.clone());
            }
        }
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let (once, mixed) = (reduce(&events), reduce(&shuffled));
        prop_assert_eq!(once.sessions(), mixed.sessions());
        prop_assert_eq!(once.live(), mixed.live());
    }

    /// Two reducers merged (two files, two replicas) answer as one fed both inputs.
    #[test]
    fn two_reducers_merged_equal_one_fed_both(events in event_set(), split in any::<prop::sample::Index>()) {
        let at = split.index(events.len() + 1);
        let (left, right) = events.split_at(at);
        let mut merged = reduce(left);
        merged.merge(reduce(right));
        let whole = reduce(&events);
        prop_assert_eq!(merged.sessions(), whole.sessions());
        prop_assert_eq!(merged.live(), whole.live());
    }

    /// A push is live exactly when its start is known and its end is not.
    #[test]
    fn live_means_started_and_not_ended(events in event_set()) {
        let sessions = reduce(&events);
        for session in sessions.sessions() {
            let listed = sessions.live().iter().any(|l| l.stream == session.stream && session.sequence.as_ref().is_some_and(|s| l.sequences.contains(s)));
            prop_assert_eq!(listed, session.state == State::Live);
            prop_assert_eq!(session.end.is_none(), session.state == State::Live);
        }
    }
}

/// Pushes with sequences of their own, as Tencent gives them, each event with the delay it
/// reaches the log by (under `delay`), redeliveries included: the events in the order they
/// arrive. A push whose start callback was lost lasts under `short` seconds.
fn in_arrival_order(delay: i64, short: i64) -> impl Strategy<Value = Vec<StreamEvent>> {
    let push = (
        0..3usize,
        0..2_000i64,
        prop::option::of((0..4u32, 0..400i64)),
        any::<bool>(),
        (0..delay, 0..delay, 0..3usize),
    );
    prop::collection::vec(push, 1..40).prop_map(move |pushes| {
        let mut arriving: Vec<(i64, usize, StreamEvent)> = Vec::new();
        for (n, (stream, at, ended, with_start, (late_start, late_end, copies))) in
            pushes.into_iter().enumerate()
        {
            let (domain, name) = [
                ("a.example.com", "s"),
                ("b.example.com", "s"),
                ("a.example.com", "t"),
            ][stream];
            let sequence = format!("p{n}");
            if with_start || ended.is_none() {
                for copy in 0..=copies {
                    let event = event(domain, name, &sequence, at, None);
                    arriving.push((at + late_start + copy as i64, arriving.len(), event));
                }
            }
            if let Some((code, length)) = ended {
                let errcode = [1, 12, 21, 18][code as usize];
                let length = if with_start { length } else { length % short };
                let end = at + length;
                let event = event(
                    domain,
                    name,
                    &sequence,
                    end,
                    Some((errcode, length as u64 * 1_000)),
                );
                arriving.push((end + late_end, arriving.len(), event));
            }
        }
        arriving.sort_by_key(|(arrives, n, _)| (*arrives, *n));
        arriving.into_iter().map(|(_, _, event)| event).collect()
    })
}

fn by_push(
    mut sessions: Vec<tencent_css_errcode::sessions::Session>,
) -> Vec<tencent_css_errcode::sessions::Session> {
    sessions
        .sort_by(|a, b| (&a.stream, &a.sequence, a.start).cmp(&(&b.stream, &b.sequence, b.start)));
    sessions
}

/// Every session a `Streaming` reducer gives, settled or at the end.
fn stream_all(
    events: &[StreamEvent],
    window: i64,
) -> (
    Vec<tencent_css_errcode::sessions::Session>,
    Sessions,
    u64,
    usize,
) {
    let mut streaming = Streaming::with_window(window);
    let mut given = Vec::new();
    let mut most = 0;
    for event in events {
        assert!(streaming.add_record(event.record()));
        most = most.max(streaming.len());
        given.extend(streaming.settled());
    }
    let late = streaming.late();
    let (ended, open) = streaming.finish();
    given.extend(ended);
    given.extend(open.sessions());
    (given, open, late, most)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Events in time order but for delays under the window (Tencent's retries): a
    /// `Streaming` reducer gives each push once, as `Sessions` answers for the same events, and
    /// the same live streams. (A push whose start callback was lost is known from its end
    /// alone: it can make an earlier end `replaced` only when that end comes within the window
    /// of its start, as it does here.)
    #[test]
    fn streaming_in_time_order_answers_as_sessions(events in in_arrival_order(60, 100)) {
        let whole = reduce(&events);
        let (given, open, late, _) = stream_all(&events, 200);
        prop_assert_eq!(late, 0);
        prop_assert_eq!(by_push(given), by_push(whole.sessions()));
        prop_assert_eq!(open.live(), whole.live());
    }
}

#[test]
fn streaming_holds_only_what_is_on_the_air_and_recent() {
    // 20,000 pushes of a minute, one starting every 10 s: six on the air at once.
    let mut events = Vec::new();
    for n in 0..20_000i64 {
        let at = 1_000 + n * 10;
        events.push((at, start(&n.to_string(), at)));
        events.push((at + 60, end(&n.to_string(), at + 60, 1, 60_000)));
    }
    events.sort_by_key(|(time, _)| *time);
    let events: Vec<StreamEvent> = events.into_iter().map(|(_, e)| e).collect();
    let (given, open, late, most) = stream_all(&events, WINDOW);
    assert_eq!((given.len(), late), (20_000, 0));
    assert!(open.is_empty());
    // On the air (6), ended within the window (90) and not yet looked at (a quarter window, 23).
    assert!(most <= 6 + 90 + 23 + 2, "held at most {most}");
}

#[test]
fn an_event_later_than_the_window_is_counted_and_a_redelivery_is_not() {
    let mut streaming = Streaming::with_window(100);
    streaming.add_record(end("1", 1_000, 12, 50_000).record());
    // Far later: push 1 is given out, as a push whose start is known only from its duration.
    streaming.add_record(start("2", 2_000).record());
    let given: Vec<_> = streaming.settled().collect();
    assert_eq!((given.len(), given[0].start), (1, Some(950)));
    // Its end again is a redelivery; its start now is late, and cannot change what was given.
    streaming.add_record(end("1", 1_000, 12, 50_000).record());
    assert_eq!((streaming.late(), streaming.is_approximate()), (0, false));
    streaming.add_record(start("1", 950).record());
    assert_eq!((streaming.late(), streaming.is_approximate()), (1, true));
    let (ended, open) = streaming.finish();
    assert!(ended.is_empty());
    assert_eq!(open.live()[0].sequences, ["2"]);
}

#[test]
fn a_replacing_push_given_out_before_the_old_end_still_makes_it_replaced() {
    let mut streaming = Streaming::with_window(100);
    let other = |sequence: &str, time| event("other.example.com", "x", sequence, time, None);
    for event in [
        start("old", 500),
        start("new", 998),
        end("new", 999, 1, 1_000),
        end("old", 1_000, 21, 500_000),
        // The clock passes 999 + 100: `new` is given out, `old` (1,000) not yet.
        other("a", 1_100),
    ] {
        streaming.add_record(event.record());
    }
    let first: Vec<_> = streaming.settled().collect();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].sequence.as_deref(), Some("new"));
    streaming.add_record(other("b", 1_200).record());
    let second: Vec<_> = streaming.settled().collect();
    assert_eq!(second[0].sequence.as_deref(), Some("old"));
    assert_eq!(
        second[0].state,
        State::Replaced,
        "`new` started 2 s before the end"
    );
}

/// Text of every kind a callback may carry: plain, with quotes, backslashes, control
/// characters, non-ASCII, empty.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.]{0,20}",
        "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é直播]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn write_json_writes_what_serde_json_writes(
        domain in any_text(),
        stream in any_text(),
        sequence in any_text(),
        ip in prop::option::of(any_text()),
        node in prop::option::of(any_text()),
        errcode in prop::option::of(prop_oneof![Just(1u32), Just(21), Just(18), 0..100_000u32]),
        time in any::<i32>(),
        duration_ms in prop::option::of(any::<u32>()),
        with_start in any::<bool>(),
    ) {
        let mut body = serde_json::json!({
            "t": 0, "app": domain, "appname": "live", "stream_id": stream,
            "sequence": sequence, "event_time": time,
        });
        if let Some(ip) = ip { body["user_ip"] = ip.into(); }
        if let Some(node) = node { body["node"] = node.into(); }
        let mut sessions = Sessions::new();
        if with_start || errcode.is_none() {
            let mut start = body.clone();
            start["event_type"] = 1.into();
            sessions.add(&serde_json::from_value::<StreamEvent>(start).unwrap());
        }
        if let Some(errcode) = errcode {
            body["event_type"] = 0.into();
            body["errcode"] = errcode.into();
            body["event_time"] = (i64::from(time) + 60).into();
            if let Some(ms) = duration_ms { body["push_duration"] = ms.to_string().into(); }
            sessions.add(&serde_json::from_value::<StreamEvent>(body).unwrap());
        }
        for session in sessions.sessions() {
            let mut written = Vec::new();
            session.write_json(&mut written);
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&session).unwrap()
            );
        }
    }
}
