-- The duty log's entries are numbered by the engine's hand-over book (so an entry is
-- written by the store writer with its journal entry, and a 201 means stored). SQLite's
-- `integer primary key` already takes the number it is given: nothing to change.
select 1;
