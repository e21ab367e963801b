//! The transports: each turns its wire protocol into calls on the
//! application ([`crate::app`]) and the exchange model
//! ([`crate::domain`]), and the answers back. Adapters import only the
//! layers below them and [`http`]; never each other otherwise, never the
//! router.
//!
//! * [`rest`]: the REST API, dispatched on the generated operation ids.
//! * [`hub`]: the SignalR hub (negotiate, the three transports, sessions)
//!   and what each hub method does (`hub::calls`).
//! * [`admin`]: the `/_sandbox/` test API.
//! * [`webhooks`]: outbound delivery of the outbox's events.
//! * [`http`]: what the HTTP adapters share (body type, error body,
//!   query decoding).

pub(crate) mod admin;
pub(crate) mod http;
pub(crate) mod hub;
pub(crate) mod rest;
pub(crate) mod webhooks;

#[cfg(test)]
mod tests {
    use super::hub::calls::{HubCall, invoke};
    use super::rest::{RestRequest, serve};
    use crate::app::App;
    use crate::config::Config;
    use serde_json::value::RawValue;

    /// The end of a range of `days` days from 2025-01-01 (at most 58).
    fn end(days: i64) -> String {
        match 1 + days {
            d @ ..=31 => format!("2025-01-{d:02}T00:00:00Z"),
            d => format!("2025-02-{:02}T00:00:00Z", d - 31),
        }
    }

    /// Whether REST accepts a page of `path` for `days` days.
    async fn rest_accepts(app: &App, path: &str, suffix: &str, days: i64) -> bool {
        let path = format!("{path}/2025-01-01T00:00:00Z/{}/0/25{suffix}", end(days));
        let reply = serve(
            app,
            &RestRequest {
                method: "GET",
                path: &path,
                query: "",
                authorization: Some("Bearer sandbox-key"),
                client_id: None,
                content_type: None,
                body: b"",
            },
        )
        .await
        .unwrap();
        assert!(
            matches!(reply.status, 200 | 422),
            "{path}: {}",
            reply.status
        );
        reply.status == 200
    }

    /// Whether the hub accepts a page of `method` for `days` days.
    fn hub_accepts(app: &App, method: &str, days: i64) -> bool {
        let end = format!("\"{}\"", end(days));
        let args = ["\"c-1\"", "\"2025-01-01T00:00:00Z\"", &end, "0", "25"];
        let owned: Vec<Box<RawValue>> = args
            .iter()
            .map(|a| RawValue::from_string((*a).to_owned()).unwrap())
            .collect();
        let refs: Vec<&RawValue> = owned.iter().map(AsRef::as_ref).collect();
        let id = hercle_models::HubMethodId::from_name(method).unwrap();
        let HubCall::Reply(envelope) = invoke(app, "sandbox-key", id, &refs) else {
            panic!("{method} answers with a reply");
        };
        let subject = envelope.subject.unwrap_or_default();
        assert!(!subject.ends_with(".error"), "{method}: {subject}");
        subject != "preChecksError"
    }

    /// Both transports list the same items with one set of limits, from
    /// the generated description: a date range one accepts, the other
    /// does too. (The hub once allowed 7 days of orders and withdrawals
    /// where REST, and the description, allow 30.)
    #[tokio::test]
    async fn rest_and_hub_offset_pages_take_the_same_ranges() {
        let app = App::new(Config::default()).unwrap();
        let lists = [
            ("/api/v1/orders", "", "GetOrdersPaginated"),
            ("/api/v1/user/trades", "", "GetTradesPaginated"),
            (
                "/api/v1/user/trades",
                "/historical",
                "GetHistoricalTradesPaginated",
            ),
            ("/api/v1/user/transactions", "", "GetTransactionsPaginated"),
            (
                "/api/v1/user/transactions",
                "/historical",
                "GetHistoricalTransactionsPaginated",
            ),
            ("/api/v1/withdrawals", "", "GetWithdrawalsPaginated"),
        ];
        for (path, suffix, method) in lists {
            for days in [1, 7, 8, 20, 30, 31] {
                assert_eq!(
                    rest_accepts(&app, path, suffix, days).await,
                    hub_accepts(&app, method, days),
                    "{method} over {days} days"
                );
            }
        }
        for (path, method) in [
            ("/api/v1/orders", "GetOrdersPaginated"),
            ("/api/v1/withdrawals", "GetWithdrawalsPaginated"),
        ] {
            assert!(rest_accepts(&app, path, "", 20).await, "{path}");
            assert!(hub_accepts(&app, method, 20), "{method}");
            assert!(!rest_accepts(&app, path, "", 31).await, "{path}");
            assert!(!hub_accepts(&app, method, 31), "{method}");
        }
    }
}
