//! The amount part of a BOLT11 payment request, both ways, exactly.
//!
//! A request starts with a human-readable part: `ln`, the network prefix
//! (`bc`, `tb`, `bcrt`, `tbs`), then an optional amount: digits and an
//! optional multiplier of one bitcoin (`m` 10⁻³, `u` 10⁻⁶, `n` 10⁻⁹,
//! `p` 10⁻¹²). The part ends at the last `1`, which bech32 data never
//! contains. Amounts are decimals throughout: never a float, never rounded.

use hercle_models::Decimal;

/// Network prefixes, longest first so `bcrt` is not read as `bc`.
const NETWORKS: [&str; 4] = ["bcrt", "tbs", "bc", "tb"];

/// Multipliers with the decimal places each shifts the digits by.
const MULTIPLIERS: [(char, u32); 4] = [('m', 3), ('u', 6), ('n', 9), ('p', 12)];

/// Why a request has no readable amount.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AmountError {
    /// Not `ln` + a known network prefix + `1` + data.
    NotBolt11,
    /// A valid request for "any amount": nothing to withdraw by.
    NoAmount,
    /// Digits or multiplier that are not a BOLT11 amount (a `p` amount
    /// must be whole millisatoshis: its last digit is 0).
    BadAmount,
}

/// The amount in BTC of a BOLT11 payment request.
pub(crate) fn amount_btc(request: &str) -> Result<Decimal, AmountError> {
    let lower = request.trim().to_ascii_lowercase();
    let (hrp, data) = lower.rsplit_once('1').ok_or(AmountError::NotBolt11)?;
    let after_ln = hrp.strip_prefix("ln").ok_or(AmountError::NotBolt11)?;
    let amount = NETWORKS
        .iter()
        .find_map(|n| after_ln.strip_prefix(n))
        .ok_or(AmountError::NotBolt11)?;
    if data.is_empty() {
        return Err(AmountError::NotBolt11);
    }
    if amount.is_empty() {
        return Err(AmountError::NoAmount);
    }
    let (digits, scale) = match amount.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = MULTIPLIERS
                .iter()
                .find(|(m, _)| *m == c)
                .map(|(_, s)| *s)
                .ok_or(AmountError::BadAmount)?;
            (amount.get(..i).unwrap_or_default(), scale)
        }
        _ => (amount, 0),
    };
    // No leading zeros (BOLT11), digits only, and whole millisatoshis.
    if digits.is_empty()
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (scale == 12 && !digits.ends_with('0'))
    {
        return Err(AmountError::BadAmount);
    }
    let units: i128 = digits.parse().map_err(|_| AmountError::BadAmount)?;
    Decimal::try_from_i128_with_scale(units, scale)
        .map(|d| d.normalize())
        .map_err(|_| AmountError::BadAmount)
}

/// The amount part (`digits` + multiplier) for `btc`: the largest unit in
/// which the amount is whole, so `0.00000001` is `10n`. `None` when the
/// amount is not positive or finer than a millisatoshi.
pub(crate) fn amount_part(btc: Decimal) -> Option<String> {
    if btc <= Decimal::ZERO {
        return None;
    }
    let units = |places: u32| {
        let shifted = btc.checked_mul(Decimal::from_i128_with_scale(10_i128.pow(places), 0))?;
        shifted
            .fract()
            .is_zero()
            .then(|| shifted.trunc().normalize())
    };
    if let Some(whole) = units(0) {
        return Some(whole.to_string());
    }
    MULTIPLIERS.iter().find_map(|(m, places)| {
        let n = units(*places)?;
        // A `p` amount is whole millisatoshis: a multiple of 10.
        if *m == 'p' && !(n % Decimal::TEN).is_zero() {
            return None;
        }
        Some(format!("{n}{m}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn multipliers_scale_the_digits() {
        for (request, amount) in [
            ("lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqf", "0.0025"),
            ("lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqf", "0.02"),
            ("lntb10n1pvjluezpp5", "0.00000001"),
            ("lnbcrt9678785340p1pwmna7l", "0.00967878534"),
            ("lntbs3m1pqqq", "0.003"),
        ] {
            assert_eq!(amount_btc(request), Ok(btc(amount)), "{request}");
        }
    }

    #[test]
    fn requests_without_a_readable_amount() {
        assert_eq!(amount_btc("LNBC1PVJLUEZPP5"), Err(AmountError::NoAmount));
        assert_eq!(amount_btc("lnbc1..."), Err(AmountError::NoAmount));
        assert_eq!(amount_btc("bitcoin:bc1q"), Err(AmountError::NotBolt11));
        assert_eq!(amount_btc("lnxx10u1pp"), Err(AmountError::NotBolt11));
        for bad in ["lnbc10x1pp", "lnbc011pp", "lnbc15p1pp", "lnbcu1pp"] {
            assert_eq!(amount_btc(bad), Err(AmountError::BadAmount), "{bad}");
        }
    }

    #[test]
    fn amounts_round_trip_exactly() {
        for amount in [
            "0.00000001",
            "1234567.89012345678",
            "0.001",
            "21",
            "0.00000000001",
        ] {
            let part = amount_part(btc(amount)).unwrap();
            let request = format!("lnbcrt{part}1pqqq");
            assert_eq!(amount_btc(&request), Ok(btc(amount)), "{request}");
        }
        assert_eq!(amount_part(btc("0.00000001")).as_deref(), Some("10n"));
        assert_eq!(amount_part(btc("0.000000000001")), None, "below a msat");
        assert_eq!(amount_part(Decimal::ZERO), None);
    }
}
