-- Photos and documents (scene photos, finding photos, inspection photos, police
-- certificates). Kept for good: records are never deleted (rules.md §13.25).
create table files (
    file_id text primary key,
    content_type text not null,
    size_bytes bigint not null,
    uploaded_by text not null,
    created_ms bigint not null,
    body bytea not null
);
