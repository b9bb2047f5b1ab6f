//! A call's output list, `[value]`, encoded once: what a result, a partial result and a
//! fan-out's value all send.

use bytes::Bytes;

/// Writes the output list `[value]` (`[null]` for a function without a result).
///
/// A small value is written on the stack first and then copied into one exactly sized
/// allocation, which `Bytes` keeps alone: a stored result holds its bytes and nothing beside.
pub(crate) fn encode_outputs<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, String> {
    let mut small = [0u8; 128];
    small[0] = b'[';
    let mut rest: &mut [u8] = &mut small[1..];
    if serde_json::to_writer(&mut rest, value).is_ok() && !rest.is_empty() {
        let end = 128 - rest.len();
        small[end] = b']';
        return Ok(Bytes::copy_from_slice(&small[..=end]));
    }
    // Larger (or not encodable: the error is then reported from here).
    let mut out = Vec::with_capacity(256);
    out.push(b'[');
    serde_json::to_writer(&mut out, value)
        .map_err(|e| format!("the handler's result could not be encoded as JSON: {e}"))?;
    out.push(b']');
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::encode_outputs;

    #[test]
    fn outputs_of_every_length_around_the_stack_buffer_are_whole() {
        for len in 0..300 {
            let text = "x".repeat(len);
            let encoded = encode_outputs(&text).unwrap();
            assert_eq!(
                &encoded[..],
                format!("[\"{text}\"]").as_bytes(),
                "length {len}"
            );
        }
        assert_eq!(&encode_outputs(&()).unwrap()[..], b"[null]");
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(encode_outputs(&bad)
            .unwrap_err()
            .contains("could not be encoded as JSON"));
    }
}
