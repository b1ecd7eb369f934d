use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{
    ACTION, Credentials, DEFAULT_ENDPOINT, Error, EventQuery, Fetch, ONLINE_ACTION, OnlineFetch,
    OnlineQuery, PageRequest, parse_online_response, parse_response, signed_action_request,
};
use crate::events::StreamEventInfo;
use crate::sessions::Online;

/// How often, and how patiently, a failed request is tried again: only errors that
/// [may succeed later](Error::is_retryable), with exponential backoff and jitter.
///
/// # Example
/// ```
/// use std::time::Duration;
/// let retry = tencent_css_errcode::api::Retry { attempts: 3, first_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
/// assert_eq!(retry.attempts, 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Retry {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles, up to `max_delay`, and a
    /// random part of up to the same length is added.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Five tries, waiting about 0.5, 1, 2 and 4 seconds between them.
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A blocking client of DescribeLiveStreamEventList and DescribeLiveStreamOnlineList (ureq,
/// rustls).
///
/// # Example
/// ```
/// use std::time::Duration;
/// use tencent_css_errcode::api::{Client, Credentials};
///
/// let client = Client::new(Credentials::new("AKID…", "key"))
///     .endpoint("https://live.intl.tencentcloudapi.com")
///     .requests_per_second(20.0)
///     .timeout(Duration::from_secs(30));
/// assert!(client.now() > 1_700_000_000);
/// ```
#[derive(Clone)]
pub struct Client {
    credentials: Credentials,
    endpoint: String,
    agent: ureq::Agent,
    timeout: Duration,
    clock: Clock,
    interval: Duration,
    retry: Retry,
    /// When the last request went out, shared by clones, for pacing.
    last_request: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint)
            .field("interval", &self.interval)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The documented rate limit of DescribeLiveStreamEventList is 300 requests a second;
    /// the client paces itself to 50 by default, leaving room for other callers of the key.
    pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 50.0;

    /// A client of the default endpoint, with the system clock.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// let client = Client::new(Credentials::new("AKID…", "key"));
    /// # let _ = client;
    /// ```
    pub fn new(credentials: Credentials) -> Self {
        let timeout = Duration::from_secs(60);
        Client {
            credentials,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            agent: agent(timeout),
            timeout,
            clock: Arc::new(crate::unix_now),
            interval: Duration::from_secs_f64(1.0 / Self::DEFAULT_REQUESTS_PER_SECOND),
            retry: Retry::default(),
            last_request: Arc::default(),
        }
    }

    /// Another endpoint: `scheme://host[:port]` (the international site,
    /// `https://live.intl.tencentcloudapi.com`, or a local server in tests).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// let client = Client::new(Credentials::new("id", "key")).endpoint("http://127.0.0.1:8080");
    /// # let _ = client;
    /// ```
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// Another clock, in Unix seconds: requests are timestamped with it (the API refuses a
    /// timestamp more than 5 minutes off its own), and query windows are checked against it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// let client = Client::new(Credentials::new("id", "key")).clock(|| 1_700_000_000);
    /// assert_eq!(client.now(), 1_700_000_000);
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// At most this many requests a second (at least 0.01).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// let client = Client::new(Credentials::new("id", "key")).requests_per_second(5.0);
    /// # let _ = client;
    /// ```
    pub fn requests_per_second(mut self, rate: f64) -> Self {
        self.interval = Duration::from_secs_f64(1.0 / rate.max(0.01));
        self
    }

    /// The retry policy.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials, Retry};
    /// let client = Client::new(Credentials::new("id", "key")).retry(Retry { attempts: 1, ..Retry::default() });
    /// # let _ = client;
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Retry {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    /// How long one request may take, connection included (default 60 s).
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// let client = Client::new(Credentials::new("id", "key")).timeout(Duration::from_secs(5));
    /// # let _ = client;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.agent = agent(timeout);
        self
    }

    /// The client's clock, in Unix seconds.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials};
    /// assert_eq!(Client::new(Credentials::new("id", "key")).clock(|| 7).now(), 7);
    /// ```
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Every record of `query`, each once. Fails at once for a query the API cannot serve;
    /// otherwise yields the records, and an `Err` for each window it had to give up on (after
    /// its retries), then goes on with the next window. Stop at the first `Err` if a partial
    /// answer is no use to you; after [`Error::is_auth_failure`], nothing else will work.
    ///
    /// # Example
    /// ```no_run
    /// use tencent_css_errcode::api::{Client, Credentials, EventQuery};
    /// let client = Client::new(Credentials::load()?);
    /// let now = client.now();
    /// let records: Vec<_> = client.events(&EventQuery::new(now - 3_600, now))?.collect::<Result<_, _>>()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn events(&self, query: &EventQuery) -> Result<Events<'_>, Error> {
        Ok(Events {
            client: self,
            fetch: Fetch::new(query.clone(), self.now())?,
            ready: VecDeque::new(),
            seed: seed(),
        })
    }

    /// The streams on the air now, every page of `query` (paced and retried as the event
    /// list is): a poll for [`Sessions::reconcile`](crate::sessions::Sessions::reconcile).
    /// A page that still fails after its retries fails the whole poll, since a partial list
    /// would make the missing streams look offline.
    ///
    /// # Example
    /// ```no_run
    /// use tencent_css_errcode::api::{Client, Credentials, OnlineQuery};
    /// let client = Client::new(Credentials::load()?);
    /// let poll = client.online(&OnlineQuery::new().domain("push.example.com"))?;
    /// println!("{} streams on the air", poll.streams.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn online(&self, query: &OnlineQuery) -> Result<Online, Error> {
        let mut fetch = OnlineFetch::new(query.clone(), self.now());
        let mut seed = seed();
        while let Some((page, body)) = fetch.next_request() {
            let answer = self.call(ONLINE_ACTION, &body, parse_online_response, &mut seed)?;
            fetch.handle(page, answer);
        }
        Ok(fetch.finish())
    }

    /// Sends one page request, paced and retried, and returns its answer.
    fn page(
        &self,
        page: &PageRequest,
        seed: &mut u64,
    ) -> Result<crate::events::EventListResponse, Error> {
        self.call(ACTION, &page.body, parse_response, seed)
    }

    /// Sends one request of `action`, paced and retried, and reads its answer with `parse`.
    fn call<T>(
        &self,
        action: &str,
        body: &[u8],
        parse: fn(u16, &[u8]) -> Result<T, Error>,
        seed: &mut u64,
    ) -> Result<T, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace();
            let result = self.send(action, body, parse);
            match result {
                Err(error) if error.is_retryable() && attempt < self.retry.attempts => {
                    std::thread::sleep(self.backoff(attempt, seed));
                }
                other => return other,
            }
        }
    }

    fn send<T>(
        &self,
        action: &str,
        body: &[u8],
        parse: fn(u16, &[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let request =
            signed_action_request(&self.endpoint, &self.credentials, action, body, self.now())?;
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| Error::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| Error::Transport(e.to_string()))?;
        parse(status, &body)
    }

    /// Waits until the pacing interval since the previous request has passed.
    fn pace(&self) {
        let Ok(mut last) = self.last_request.lock() else {
            return;
        };
        if let Some(previous) = *last {
            let next = previous + self.interval;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        *last = Some(Instant::now());
    }

    /// `first_delay × 2^(attempt-1)`, at most `max_delay`, plus up to as much again at random.
    fn backoff(&self, attempt: u32, seed: &mut u64) -> Duration {
        let base = self
            .retry
            .first_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.retry.max_delay);
        // xorshift64: jitter needs no cryptographic randomness.
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let fraction = (*seed >> 11) as f64 / (1u64 << 53) as f64;
        base + base.mul_f64(fraction)
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 20 ^ u64::from(std::process::id())) | 1
}

/// The records of a query: see [`Client::events`].
#[derive(Debug)]
pub struct Events<'a> {
    client: &'a Client,
    fetch: Fetch,
    ready: VecDeque<StreamEventInfo>,
    seed: u64,
}

impl Events<'_> {
    /// The fetch underneath: requests so far, records, truncated windows.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{Client, Credentials, EventQuery};
    /// let client = Client::new(Credentials::new("id", "key")).clock(|| 1_000);
    /// let events = client.events(&EventQuery::new(0, 1_000))?;
    /// assert_eq!(events.fetch().requests(), 0);
    /// # Ok::<(), tencent_css_errcode::api::Error>(())
    /// ```
    pub fn fetch(&self) -> &Fetch {
        &self.fetch
    }
}

impl Iterator for Events<'_> {
    type Item = Result<StreamEventInfo, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(Ok(record));
            }
            let page = self.fetch.next_request()?;
            match self.client.page(&page, &mut self.seed) {
                Ok(answer) => self.ready.extend(self.fetch.handle(&page, answer)),
                Err(error) => {
                    self.fetch.skip(&page);
                    return Some(Err(error));
                }
            }
        }
    }
}
