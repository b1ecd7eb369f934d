-- Schema 4: the ended pushes by end time (and errcode), for the Stream Interruption Records
-- page: a window's counts by errcode and a page of its rows are read from this index alone
-- (it holds the primary key too), and only the rows shown are read whole.
CREATE INDEX pushes_ended ON pushes (end_time, errcode) WHERE end_time IS NOT NULL;
