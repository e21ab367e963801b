//! PEM decoding (RFC 7468, strict enough for keys): label plus Base64 body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One decoded PEM block.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Decodes the first PEM block found in `text`. Returns `None` on any malformation.
pub(crate) fn decode_first(text: &str) -> Option<PemBlock> {
    let begin = text.find("-----BEGIN ")?;
    let after_begin = text.get(begin + "-----BEGIN ".len()..)?;
    let label_end = after_begin.find("-----")?;
    let label = after_begin.get(..label_end)?;
    let body_start = after_begin.get(label_end + 5..)?;
    let end_marker = format!("-----END {label}-----");
    let body_end = body_start.find(&end_marker)?;
    let body = body_start.get(..body_end)?;
    // Skip RFC 1421 style headers ("Proc-Type: ...") if present: they end at a blank line.
    let body = if body.contains(':') {
        body.split_once("\n\n")
            .or_else(|| body.split_once("\r\n\r\n"))
            .map_or(body, |(_, b)| b)
    } else {
        body
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(compact.as_bytes()).ok()?;
    Some(PemBlock {
        label: label.to_owned(),
        der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_single_line_and_wrapped() {
        let b = decode_first("-----BEGIN X-----\nAAEC\n-----END X-----\n").unwrap();
        assert_eq!(b.label, "X");
        assert_eq!(b.der, vec![0, 1, 2]);
        // The docs' samples paste keys on one line with spaces.
        let b = decode_first("-----BEGIN X----- AA EC -----END X-----").unwrap();
        assert_eq!(b.der, vec![0, 1, 2]);
    }

    #[test]
    fn rejects_mismatched_labels_and_bad_base64() {
        assert!(decode_first("-----BEGIN X-----\nAAEC\n-----END Y-----").is_none());
        assert!(decode_first("-----BEGIN X-----\n!!!!\n-----END X-----").is_none());
        assert!(decode_first("no pem here").is_none());
    }
}
