-- The central feed (issue 23): the JetStream stream sequence a central row got when
-- JetStream acknowledged it. A row is purged only once the centre's consumer has
-- acknowledged (so committed) that very sequence, not merely a later row's. Rows
-- forwarded before this column existed have none: they are sent again (the centre
-- applies a record once, by site and id).
alter table outbox add column stream_seq bigint;
update outbox set sent_ms = null where channel = 'central' and sent_ms is not null;
