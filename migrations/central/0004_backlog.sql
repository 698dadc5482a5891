-- What each site still held for the centre when it sent its newest record (issue 23's
-- fleet view: link state with backlog), from the `Sitewatch-Backlog` header; the
-- message's stream sequence so a redelivered older message never overwrites it.
alter table central_sites add column backlog bigint;
alter table central_sites add column backlog_seq bigint not null default 0;
