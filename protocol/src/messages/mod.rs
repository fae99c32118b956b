//! The envd messages. Each definition lists, per field: the protobuf field number, the proto
//! (snake_case) name, the JSON (lowerCamelCase) name, the Rust field and type, and its kind.

#[cfg(feature = "json")]
use crate::prelude::*;

pub mod filesystem;
pub mod process;
pub mod timestamp;

/// A message struct with singular/repeated/map fields.
macro_rules! proto_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $num:literal $proto:literal $json:literal $field:ident : $ty:ty = $kind:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::Message for $name {
            #[allow(unused_variables)]
            fn write_proto(&self, w: &mut $crate::pb::Writer<'_>) {
                $(
                    if !<$kind as $crate::message::Kind>::is_default(&self.$field) {
                        <$kind as $crate::message::Kind>::write_proto(w, $num, &self.$field);
                    }
                )*
            }

            #[allow(unused_variables)]
            fn merge_proto_field(
                &mut self,
                number: u32,
                value: $crate::pb::FieldValue<'_>,
            ) -> Result<(), $crate::DecodeError> {
                match number {
                    $(
                        $num => <$kind as $crate::message::Kind>::merge_proto(&mut self.$field, value)
                            .map_err(|e| e.in_field($json)),
                    )*
                    _ => Ok(()),
                }
            }

            #[cfg(feature = "json")]
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::json::Writer::object(out, |w| {
                    let _ = &w;
                    $(
                        if !<$kind as $crate::message::Kind>::is_default(&self.$field) {
                            <$kind as $crate::message::Kind>::write_json(w.key($json), &self.$field);
                        }
                    )*
                });
            }

            #[cfg(feature = "json")]
            fn merge_json(&mut self, j: &$crate::json::Value) -> Result<(), $crate::DecodeError> {
                $crate::message::merge_json_object(j, |name, value| {
                    let _ = &value;
                    $(
                        if name == $json || name == $proto {
                            return <$kind as $crate::message::Kind>::merge_json(&mut self.$field, value).map(|()| true);
                        }
                    )*
                    Ok(false)
                })
            }
        }
    };
}

/// A message made of a single `oneof` (all of envd's oneofs are): a struct with one
/// `Option<Enum>` field, and the enum of the members.
macro_rules! proto_oneof {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $field:ident }
        $(#[$emeta:meta])*
        pub enum $enum:ident {
            $( $(#[$vmeta:meta])* $num:literal $proto:literal $json:literal $variant:ident($ty:ty) = $kind:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            pub $field: Option<$enum>,
        }

        $(#[$emeta])*
        #[derive(Clone, Debug, PartialEq)]
        #[allow(clippy::large_enum_variant)] // members are held inline, like the proto's layout
        pub enum $enum {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl $crate::Message for $name {
            fn write_proto(&self, w: &mut $crate::pb::Writer<'_>) {
                match &self.$field {
                    $( Some($enum::$variant(v)) => <$kind as $crate::message::Kind>::write_proto(w, $num, v), )*
                    None => {}
                }
            }

            fn merge_proto_field(
                &mut self,
                number: u32,
                value: $crate::pb::FieldValue<'_>,
            ) -> Result<(), $crate::DecodeError> {
                match number {
                    $(
                        $num => {
                            if !matches!(self.$field, Some($enum::$variant(_))) {
                                self.$field = Some($enum::$variant(Default::default()));
                            }
                            match &mut self.$field {
                                Some($enum::$variant(v)) => <$kind as $crate::message::Kind>::merge_proto(v, value)
                                    .map_err(|e| e.in_field($json)),
                                _ => Ok(()),
                            }
                        }
                    )*
                    _ => Ok(()),
                }
            }

            #[cfg(feature = "json")]
            fn write_json(&self, out: &mut Vec<u8>) {
                $crate::json::Writer::object(out, |w| match &self.$field {
                    $( Some($enum::$variant(v)) => <$kind as $crate::message::Kind>::write_json(w.key($json), v), )*
                    None => {}
                });
            }

            #[cfg(feature = "json")]
            fn merge_json(&mut self, j: &$crate::json::Value) -> Result<(), $crate::DecodeError> {
                let mut seen = false;
                $crate::message::merge_json_object(j, |name, value| {
                    $(
                        if name == $json || name == $proto {
                            if core::mem::replace(&mut seen, true) {
                                return Err($crate::DecodeError::new("more than one member of a oneof is set"));
                            }
                            let mut v = <$ty>::default();
                            <$kind as $crate::message::Kind>::merge_json(&mut v, value)?;
                            self.$field = Some($enum::$variant(v));
                            return Ok(true);
                        }
                    )*
                    Ok(false)
                })
            }
        }
    };
}

/// A protobuf enum; the first variant must be the zero value.
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $num:literal $wire:literal $variant:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            #[default]
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::message::ProtoEnum for $name {
            fn from_i32(v: i32) -> Self {
                match v {
                    $( $num => $name::$variant, )*
                    _ => $name::default(),
                }
            }
            fn to_i32(self) -> i32 {
                match self {
                    $( $name::$variant => $num, )*
                }
            }
            fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )*
                }
            }
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $wire => Some($name::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

/// A message without fields (requests/responses/events that carry nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty;

impl crate::Message for Empty {
    fn write_proto(&self, _: &mut crate::pb::Writer<'_>) {}
    fn merge_proto_field(
        &mut self,
        _: u32,
        _: crate::pb::FieldValue<'_>,
    ) -> Result<(), crate::DecodeError> {
        Ok(())
    }
    #[cfg(feature = "json")]
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{}");
    }
    #[cfg(feature = "json")]
    fn merge_json(&mut self, j: &crate::json::Value) -> Result<(), crate::DecodeError> {
        crate::message::merge_json_object(j, |_, _| Ok(false))
    }
}

pub(crate) use {proto_enum, proto_message, proto_oneof};
