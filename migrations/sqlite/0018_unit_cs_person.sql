-- The unit's own customer-service person (贴心管家, seed 003:751; issue 22 item 14):
-- requests from the unit go to them by default. Empty for units imported before.
alter table units add column cs_person text;
