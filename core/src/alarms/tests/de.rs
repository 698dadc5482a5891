//! A tiny in-memory deserializer standing in for TOML, so rule and config parsing is
//! tested without a format crate in the core.

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// A TOML-like value.
#[derive(Debug, Clone)]
pub(super) enum Val {
    S(&'static str),
    F(f64),
    I(i64),
    Table(Vec<(&'static str, Val)>),
    Seq(Vec<Val>),
}

/// Deserializes `T` from a table of key/value pairs.
pub(super) fn from_table<T: DeserializeOwned>(pairs: Vec<(&'static str, Val)>) -> Result<T, Error> {
    T::deserialize(Val::Table(pairs).into_deserializer())
}

pub(super) struct ValDe(Val);

impl IntoDeserializer<'_, Error> for Val {
    type Deserializer = ValDe;
    fn into_deserializer(self) -> ValDe {
        ValDe(self)
    }
}

impl<'de> Deserializer<'de> for ValDe {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Val::S(s) => v.visit_str(s),
            Val::F(f) => v.visit_f64(f),
            Val::I(i) => v.visit_i64(i),
            Val::Table(t) => v.visit_map(MapDeserializer::new(t.into_iter())),
            Val::Seq(items) => v.visit_seq(SeqDeserializer::new(items.into_iter())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Val::S(s) => v.visit_enum(s.into_deserializer()),
            other => ValDe(other).deserialize_any(v),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}
