-- Schema 1: every accepted stream callback, once.
CREATE TABLE callbacks (
    -- Order of receipt.
    id INTEGER PRIMARY KEY,
    -- When the receiver got it, Unix seconds.
    received INTEGER NOT NULL,
    -- 0 stream end, 1 push start.
    event_type INTEGER NOT NULL,
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    sequence TEXT NOT NULL,
    event_time INTEGER NOT NULL,
    errcode INTEGER,
    -- The body as received, on one line.
    body TEXT NOT NULL,
    -- One event, however often Tencent delivers it.
    UNIQUE (sequence, event_type, event_time)
);
CREATE INDEX callbacks_received ON callbacks (received);
-- What the first start imported from a 0.2 data directory.
CREATE TABLE imports (
    file TEXT PRIMARY KEY,
    callbacks INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    unreadable INTEGER NOT NULL
);
-- The writer's health probe: one row, rewritten.
CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
