-- An alarm's own history (the console's detail): its journal entries by subject.
create index events_kind_subject on events (kind, subject, event_id);
