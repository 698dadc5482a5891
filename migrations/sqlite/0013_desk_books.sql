-- Service requests and shift hand-overs become books the engine owns (issue 19): each is
-- kept like an incident, one `core_state` row per record (`request:{id}`, `handover:{id}`)
-- written by the store writer with the journal entries of the change that made it. The
-- rows kept so far move there, and their old tables go, so nobody reads a table that no
-- longer changes. The duty log's staff entries stay in `duty_log`. (`where true`: SQLite
-- reads `on conflict` after a bare `from t` as a join constraint.)
insert into core_state (name, body, updated_ms)
select 'request:' || service_request_id, body, updated_at_ms
from service_requests where state <> ''
on conflict (name) do nothing;

insert into core_state (name, body, updated_ms)
select 'handover:' || handover_id, body, updated_at_ms
from handovers where true
on conflict (name) do nothing;

drop table service_requests;
drop table handovers;
