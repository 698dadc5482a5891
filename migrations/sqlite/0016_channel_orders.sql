-- Each person's own order of paging channels (issue 21: "each person's order of channels
-- is theirs to set"), set through `PUT /api/v1/oncall/me/channels`. `channels` is a JSON
-- array of channel names (`["email", "sms"]`); the person's configured channels not named
-- follow in the config's order. A row overrides `[[people]] channels`' order, never its
-- addresses.
create table channel_orders (
    user_name text primary key,
    channels text not null,
    updated_at_ms bigint not null
);
