//! The protobuf wire format: varints, tags, a writer that builds messages back to front and a
//! bounds-checked reader.
//!
//! Writing back to front (as Go's generated marshallers do) means a nested message is written
//! before its length prefix, so its length is known when the prefix is written: one pass, no size
//! precomputation, no shifting.

use super::ProtobufError;

/// How a field's value is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// A base-128 varint (int32, int64, bool, enums).
    Varint = 0,
    /// Eight little-endian bytes (double, fixed64).
    Fixed64 = 1,
    /// A varint length, then that many bytes (strings, bytes, messages, packed repeated scalars).
    Len = 2,
    /// Four little-endian bytes (float, fixed32).
    Fixed32 = 5,
}

/// A growable buffer that is filled from its end towards its start.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    /// The written bytes are `buf[start..]`.
    start: usize,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: vec![0; capacity],
            start: capacity,
        }
    }

    /// How many bytes have been written.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes written so far, in wire order.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The written bytes, in wire order.
    pub fn into_vec(mut self) -> Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
        }
        self.buf
    }

    fn make_room(&mut self, additional: usize) {
        if additional <= self.start {
            return;
        }
        let used = self.len();
        let capacity = (used + additional).max(used * 2).max(64);
        let mut grown = vec![0; capacity];
        let new_start = capacity - used;
        grown[new_start..].copy_from_slice(&self.buf[self.start..]);
        self.buf = grown;
        self.start = new_start;
    }

    /// Writes `bytes` in front of what is already written.
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.start -= bytes.len();
        self.buf[self.start..self.start + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes one byte in front of what is already written.
    pub fn put_byte(&mut self, byte: u8) {
        self.make_room(1);
        self.start -= 1;
        self.buf[self.start] = byte;
    }

    /// Writes a base-128 varint.
    pub fn put_varint(&mut self, mut value: u64) {
        if value < 0x80 {
            self.put_byte(value as u8);
            return;
        }
        let mut scratch = [0u8; 10];
        let mut n = 0;
        while value >= 0x80 {
            scratch[n] = (value as u8) | 0x80;
            value >>= 7;
            n += 1;
        }
        scratch[n] = value as u8;
        self.put_slice(&scratch[..=n]);
    }

    /// Writes a field tag.
    pub fn put_tag(&mut self, field: u32, wire_type: WireType) {
        self.put_varint((u64::from(field) << 3) | wire_type as u64);
    }

    /// Writes a length-delimited field whose payload is `bytes`.
    pub fn put_bytes_field(&mut self, field: u32, bytes: &[u8]) {
        self.put_slice(bytes);
        self.put_varint(bytes.len() as u64);
        self.put_tag(field, WireType::Len);
    }

    /// Writes a length-delimited field whose payload `write_payload` writes (back to front, as
    /// everything here).
    pub fn put_nested(&mut self, field: u32, write_payload: impl FnOnce(&mut Writer)) {
        let before = self.len();
        write_payload(self);
        let payload_len = self.len() - before;
        self.put_varint(payload_len as u64);
        self.put_tag(field, WireType::Len);
    }
}

/// A cursor over protobuf bytes that never reads past its slice and counts nesting depth.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a top-level message.
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, depth: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// How many bytes are left to read.
    pub fn remaining_len(&self) -> usize {
        self.input.len()
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    pub fn next_tag(&mut self) -> Result<Option<(u32, WireType)>, ProtobufError> {
        if self.input.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let wire_type = match tag & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            _ => return Err(ProtobufError::InvalidTag { tag }),
        };
        let field = tag >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(ProtobufError::InvalidTag { tag });
        }
        Ok(Some((field as u32, wire_type)))
    }

    /// A base-128 varint of at most ten bytes.
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for (index, &byte) in self.input.iter().enumerate().take(10) {
            // The tenth byte may only carry the top bit of a 64-bit value.
            if index == 9 && byte > 1 {
                return Err(ProtobufError::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                self.input = &self.input[index + 1..];
                return Ok(value);
            }
        }
        if self.input.len() >= 10 {
            Err(ProtobufError::VarintOverflow)
        } else {
            Err(ProtobufError::Truncated)
        }
    }

    /// Eight little-endian bytes.
    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let (bytes, rest) = self
            .input
            .split_first_chunk::<8>()
            .ok_or(ProtobufError::Truncated)?;
        self.input = rest;
        Ok(u64::from_le_bytes(*bytes))
    }

    /// Four little-endian bytes.
    pub fn fixed32(&mut self) -> Result<u32, ProtobufError> {
        let (bytes, rest) = self
            .input
            .split_first_chunk::<4>()
            .ok_or(ProtobufError::Truncated)?;
        self.input = rest;
        Ok(u32::from_le_bytes(*bytes))
    }

    /// The payload of a length-delimited field.
    pub fn len_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = self.varint()?;
        if len > self.input.len() as u64 {
            return Err(ProtobufError::Truncated);
        }
        let (payload, rest) = self.input.split_at(len as usize);
        self.input = rest;
        Ok(payload)
    }

    /// A reader over a nested message's payload, one level deeper.
    pub fn nested(&mut self) -> Result<Reader<'a>, ProtobufError> {
        let depth = self.depth + 1;
        if depth > super::MAX_DEPTH {
            return Err(ProtobufError::TooDeep);
        }
        Ok(Reader {
            input: self.len_delimited()?,
            depth,
        })
    }

    /// Skips a field's value (an unknown field, kept out of the result but checked for shape).
    pub fn skip(&mut self, wire_type: WireType) -> Result<(), ProtobufError> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed64().map(drop),
            WireType::Len => self.len_delimited().map(drop),
            WireType::Fixed32 => self.fixed32().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut writer = Writer::new();
            writer.put_varint(value);
            let bytes = writer.into_vec();
            let mut reader = Reader::new(&bytes);
            assert_eq!(reader.varint(), Ok(value));
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        assert_eq!(
            Reader::new(&[0xff; 11]).varint(),
            Err(ProtobufError::VarintOverflow)
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).varint(),
            Err(ProtobufError::VarintOverflow)
        );
        assert_eq!(Reader::new(&[0x80, 0x80]).varint(), Err(ProtobufError::Truncated));
    }

    #[test]
    fn nested_payloads_are_prefixed_with_their_length() {
        let mut writer = Writer::with_capacity(2);
        writer.put_nested(1, |w| {
            w.put_bytes_field(2, &[7; 200]);
        });
        let bytes = writer.into_vec();
        assert_eq!(&bytes[..5], &[0x0a, 203, 1, 0x12, 200]);
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.next_tag(), Ok(Some((1, WireType::Len))));
        let mut inner = reader.nested().unwrap();
        assert_eq!(inner.next_tag(), Ok(Some((2, WireType::Len))));
        assert_eq!(inner.len_delimited().unwrap(), &[7; 200][..]);
        assert_eq!(inner.next_tag(), Ok(None));
    }

    #[test]
    fn groups_and_field_zero_are_invalid_tags() {
        assert_eq!(
            Reader::new(&[0x0b]).next_tag(),
            Err(ProtobufError::InvalidTag { tag: 0x0b })
        );
        assert_eq!(
            Reader::new(&[0x02]).next_tag(),
            Err(ProtobufError::InvalidTag { tag: 2 })
        );
    }

    #[test]
    fn lengths_past_the_end_are_truncation() {
        assert_eq!(
            Reader::new(&[0x05, 1, 2]).len_delimited(),
            Err(ProtobufError::Truncated)
        );
    }
}
