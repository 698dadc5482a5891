-- Site plans (issue 20): per building and floor, an uploaded image (a row of `files`) and
-- what an admin placed on it. x and y are fractions of the image's width and height, so a
-- marker stays on its spot at any size. A plain register: no engine book decides on it.
create table site_plans (
    building text not null,
    floor text not null,
    file_id text not null,
    updated_by text not null,
    updated_ms bigint not null,
    primary key (building, floor)
);

create table plan_markers (
    building text not null,
    floor text not null,
    kind text not null,
    item_id text not null,
    x real not null,
    y real not null,
    primary key (building, floor, kind, item_id)
);
