-- Schema 2: what is known of each push (its start and its end), kept in the transaction of
-- the callback that told it, so that the live streams are known at once after a restart.
-- Of two reports of the same fact the earlier is kept, as the sessions reducer does.
CREATE TABLE pushes (
    domain TEXT NOT NULL,
    app TEXT NOT NULL,
    stream TEXT NOT NULL,
    sequence TEXT NOT NULL,
    start_time INTEGER,
    start_client_ip TEXT,
    start_node TEXT,
    end_time INTEGER,
    push_duration_ms INTEGER,
    errcode INTEGER,
    errmsg TEXT,
    end_client_ip TEXT,
    end_node TEXT,
    PRIMARY KEY (domain, app, stream, sequence)
) WITHOUT ROWID;
CREATE INDEX pushes_open ON pushes (domain, app, stream) WHERE end_time IS NULL;
-- The pushes of the callbacks a schema-1 store kept (min() picks the earliest report's row).
INSERT INTO pushes (domain, app, stream, sequence, start_time, start_client_ip, start_node)
    SELECT domain, app, stream, sequence, min(event_time),
           json_extract(body, '$.user_ip'), json_extract(body, '$.node')
    FROM callbacks WHERE event_type = 1 GROUP BY domain, app, stream, sequence;
INSERT INTO pushes (domain, app, stream, sequence, end_time, push_duration_ms, errcode, errmsg,
                    end_client_ip, end_node)
    SELECT domain, app, stream, sequence, min(event_time),
           CAST(json_extract(body, '$.push_duration') AS INTEGER), errcode,
           json_extract(body, '$.errmsg'), json_extract(body, '$.user_ip'), json_extract(body, '$.node')
    FROM callbacks WHERE event_type = 0 GROUP BY domain, app, stream, sequence
    ON CONFLICT (domain, app, stream, sequence) DO UPDATE SET
        end_time = excluded.end_time, push_duration_ms = excluded.push_duration_ms,
        errcode = excluded.errcode, errmsg = excluded.errmsg,
        end_client_ip = excluded.end_client_ip, end_node = excluded.end_node;
