//! Event identifiers: 122 random bits, written as 32 lowercase hex digits.

use std::fmt;

use uuid::Uuid;

/// The id of one call, as returned by `POST {prefix}/call/{api}`.
///
/// It is a random (version 4) UUID, written on the wire as 32 lowercase hex digits without
/// dashes, as Gradio does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses the 32-hex-digit wire form (dashed UUIDs are accepted too).
    /// Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 && text.len() != 36 {
            return None;
        }
        Uuid::try_parse(text).ok().map(Self)
    }

    /// The wire form, without allocating: 32 lowercase hex digits.
    pub fn to_hex(&self) -> EventIdHex {
        let mut buf = [0u8; 32];
        self.0.simple().encode_lower(&mut buf);
        EventIdHex(buf)
    }
}

/// The text is not an event id (32 hex digits, or a dashed UUID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEventIdError;

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id is 32 hexadecimal digits (or a UUID with dashes)")
    }
}

impl std::error::Error for ParseEventIdError {}

impl std::str::FromStr for EventId {
    type Err = ParseEventIdError;

    /// The same as [`EventId::parse`], for `"…".parse::<EventId>()`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text).ok_or(ParseEventIdError)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.to_hex().as_str())
    }
}

/// The 32-hex-digit form of an [`EventId`], kept on the stack.
#[derive(Clone, Copy)]
pub struct EventIdHex([u8; 32]);

impl EventIdHex {
    /// The digits as a string slice.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into the buffer.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Hashes event ids by folding their random bits: no SipHash rounds needed, since ids come
/// from the server's CSPRNG and a caller cannot choose ids that collide with stored ones.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _: usize) {
        // The slice length prefix: always 16 for ids.
    }
}

/// Builds [`IdHasher`]s for maps keyed by [`EventId`].
pub(crate) type BuildIdHasher = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = EventId::new_random();
        let hex = id.to_hex();
        assert_eq!(hex.as_str().len(), 32);
        assert!(hex
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(EventId::parse(hex.as_str()), Some(id));
        assert_eq!(EventId::parse("nope"), None);
        assert_eq!(EventId::parse(&"g".repeat(32)), None);
    }
}
