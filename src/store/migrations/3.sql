-- Schema 3: what polls of DescribeLiveStreamOnlineList found (`serve --reconcile-every`).
-- `missed` counts the polls in a row that did not list an open push's stream; `lost_at` is the
-- time of the poll that ended it as "end not received". `online` holds the streams the latest
-- poll of their scope listed, with their earliest publish time.
ALTER TABLE pushes ADD COLUMN missed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pushes ADD COLUMN lost_at INTEGER;
CREATE TABLE online (
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    since INTEGER NOT NULL,
    polled_at INTEGER NOT NULL,
    PRIMARY KEY (domain, app, stream)
) WITHOUT ROWID;
