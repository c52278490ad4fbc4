//! `metav1.Time` and `metav1.MicroTime`: a `Timestamp { seconds = 1, nanos = 2 }` message.
//!
//! Go writes a zero time as an empty message and reads an empty message as the zero time
//! (0001-01-01T00:00:00Z), which its JSON writes as `null`: k8s-openapi's `None`. `Time` keeps
//! whole seconds only (Go drops the nanoseconds both ways, to agree with its JSON form);
//! `MicroTime` keeps microseconds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;

use crate::protobuf::ProtobufError;
use crate::protobuf::value::merge_inline;
use crate::protobuf::value::{FieldContext, Value};
use crate::protobuf::wire::{Reader, WireType, Writer};

/// Seconds from the Unix epoch to Go's zero time, 0001-01-01T00:00:00Z.
const GO_ZERO_SECONDS: i64 = -62_135_596_800;

fn go_zero() -> Timestamp {
    // In range by construction: jiff covers years -9999 to 9999.
    Timestamp::new(GO_ZERO_SECONDS, 0).unwrap_or(Timestamp::MIN)
}

fn encode_timestamp(timestamp: Timestamp, keep_nanos: bool, field: u32, writer: &mut Writer) {
    writer.put_nested(field, |writer| {
        if timestamp == go_zero() {
            return;
        }
        let nanos = if keep_nanos {
            timestamp.subsec_nanosecond() / 1000 * 1000
        } else {
            0
        };
        nanos.encode_field(2, writer);
        timestamp.as_second().encode_field(1, writer);
    });
}

fn decode_timestamp(
    context: FieldContext,
    wire_type: WireType,
    reader: &mut Reader<'_>,
    keep_nanos: bool,
) -> Result<Timestamp, ProtobufError> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut empty = true;
    merge_inline(context, wire_type, reader, |field, wire_type, reader| {
        empty = false;
        match field {
            1 => seconds.merge_value(context, wire_type, reader),
            2 => nanos.merge_value(context, wire_type, reader),
            _ => reader.skip(wire_type),
        }
    })?;
    if empty {
        return Ok(go_zero());
    }
    let nanos = if keep_nanos { nanos / 1000 * 1000 } else { 0 };
    Timestamp::new(seconds, nanos).map_err(|error| ProtobufError::InvalidValue {
        type_name: "Timestamp",
        reason: error.to_string(),
    })
}

/// `Value` for a timestamp type, keeping microseconds or only whole seconds.
macro_rules! timestamp_value {
    ($ty:ident, keep_micros: $keep:expr) => {
        impl Value for $ty {
            fn zero() -> Self {
                $ty(go_zero())
            }

            fn encode_field(&self, field: u32, writer: &mut Writer) {
                encode_timestamp(self.0, $keep, field, writer);
            }

            fn merge_value(
                &mut self,
                context: FieldContext,
                wire_type: WireType,
                reader: &mut Reader<'_>,
            ) -> Result<(), ProtobufError> {
                self.0 = decode_timestamp(context, wire_type, reader, $keep)?;
                Ok(())
            }

            fn is_go_zero(&self) -> bool {
                self.0 == go_zero()
            }
        }
    };
}

timestamp_value!(Time, keep_micros: false);
timestamp_value!(MicroTime, keep_micros: true);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<V: Value>(value: &V) -> (Vec<u8>, V) {
        let mut writer = Writer::new();
        value.encode_field(1, &mut writer);
        let bytes = writer.into_vec();
        let mut reader = Reader::new(&bytes);
        let (_, wire_type) = reader.next_tag().unwrap().unwrap();
        let decoded = V::decode_value(
            FieldContext {
                message: "test",
                field: 1,
            },
            wire_type,
            &mut reader,
        )
        .unwrap();
        (bytes, decoded)
    }

    #[test]
    fn zero_time_is_an_empty_message() {
        let (bytes, decoded) = round_trip(&Time::zero());
        assert_eq!(bytes, [0x0a, 0x00]);
        assert!(decoded.is_go_zero());
    }

    #[test]
    fn time_drops_nanoseconds_and_micro_time_keeps_microseconds() {
        let instant = Timestamp::new(1_700_000_000, 123_456_789).unwrap();
        let (bytes, decoded) = round_trip(&Time(instant));
        assert_eq!(decoded.0, Timestamp::new(1_700_000_000, 0).unwrap());
        assert_eq!(&bytes[bytes.len() - 2..], [0x10, 0x00]);
        let (_, decoded) = round_trip(&MicroTime(instant));
        assert_eq!(decoded.0, Timestamp::new(1_700_000_000, 123_456_000).unwrap());
    }

    #[test]
    fn out_of_range_seconds_are_an_error() {
        let bytes = [
            0x0a, 0x0a, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        let mut reader = Reader::new(&bytes);
        let (_, wire_type) = reader.next_tag().unwrap().unwrap();
        let error = Time::decode_value(
            FieldContext {
                message: "test",
                field: 1,
            },
            wire_type,
            &mut reader,
        );
        assert!(matches!(
            error,
            Err(ProtobufError::InvalidValue {
                type_name: "Timestamp",
                ..
            })
        ));
    }
}
