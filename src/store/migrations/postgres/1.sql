-- Schema 1 on PostgreSQL: what schemas 1 to 3 of the SQLite store hold, in one step.
-- Every accepted stream callback, once.
CREATE TABLE callbacks (
    -- Order of receipt (of insertion: two replicas' commits may interleave).
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- When the receiver got it, Unix seconds.
    received BIGINT NOT NULL,
    -- 0 stream end, 1 push start.
    event_type BIGINT NOT NULL,
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    sequence TEXT NOT NULL,
    event_time BIGINT NOT NULL,
    errcode BIGINT,
    -- The body as received, on one line.
    body TEXT NOT NULL,
    -- One event, however often Tencent delivers it, to whichever replica.
    UNIQUE (sequence, event_type, event_time)
);
CREATE INDEX callbacks_received ON callbacks (received);
-- The writers' health probe: one row, rewritten.
CREATE TABLE probe (id BIGINT PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL);
-- What is known of each push, merged in the transaction of the callback that told it; of two
-- reports of the same fact the earlier is kept. `missed` and `lost_at` are the polls'.
CREATE TABLE pushes (
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    sequence TEXT NOT NULL,
    start_time BIGINT,
    start_client_ip TEXT,
    start_node TEXT,
    end_time BIGINT,
    push_duration_ms BIGINT,
    errcode BIGINT,
    errmsg TEXT,
    end_client_ip TEXT,
    end_node TEXT,
    missed BIGINT NOT NULL DEFAULT 0,
    lost_at BIGINT,
    PRIMARY KEY (domain, app, stream, sequence)
);
CREATE INDEX pushes_open ON pushes (domain, app, stream) WHERE end_time IS NULL;
-- The streams the latest poll of DescribeLiveStreamOnlineList listed, by scope.
CREATE TABLE online (
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    since BIGINT NOT NULL,
    polled_at BIGINT NOT NULL,
    PRIMARY KEY (domain, app, stream)
);
