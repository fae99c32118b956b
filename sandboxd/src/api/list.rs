//! `GET /v2/sandboxes` (and v1 `GET /sandboxes`): query parsing, filtering, ordering and
//! next-token pagination as E2B's API does it (docs/wire.md, "Listing and paging").

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

use super::error::ApiError;
use super::model::{SandboxRecord, SandboxState};

pub const MAX_LIMIT: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Newest first; equal start times by ID ascending.
    Desc,
    /// The exact reverse of `Desc`.
    Asc,
}

#[derive(Debug, PartialEq)]
pub struct ListQuery {
    pub states: Vec<SandboxState>,
    pub metadata: Vec<(String, String)>,
    pub order: Order,
    pub started_after: Option<DateTime<Utc>>,
    pub template: Option<String>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, PartialEq)]
pub struct Cursor {
    started_at: DateTime<Utc>,
    sandbox_id: String,
}

pub struct Page<'a> {
    pub items: Vec<&'a SandboxRecord>,
    pub next_token: Option<String>,
    pub total_running: Option<usize>,
}

impl ListQuery {
    /// Parses the raw query string of a v2 list request.
    pub fn parse_v2(raw_query: Option<&str>) -> Result<ListQuery, ApiError> {
        let mut query = ListQuery {
            states: vec![SandboxState::Running, SandboxState::Paused],
            metadata: Vec::new(),
            order: Order::Desc,
            started_after: None,
            template: None,
            limit: MAX_LIMIT,
            cursor: None,
        };
        let mut token = None;
        for (key, value) in form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "state" => query.states = parse_states(&value)?,
                "metadata" => query.metadata = parse_metadata_filter(&value)?,
                "order" => {
                    query.order = match value.as_ref() {
                        "asc" => Order::Asc,
                        "desc" => Order::Desc,
                        other => {
                            return Err(ApiError::bad_request(format!("Invalid order: {other}")));
                        }
                    }
                }
                "startedAfter" => {
                    let t = DateTime::parse_from_rfc3339(&value).map_err(|_| {
                        ApiError::bad_request(format!("Invalid startedAfter: {value}"))
                    })?;
                    query.started_after = Some(t.with_timezone(&Utc).trunc_subsecs(6));
                }
                "template" if !value.is_empty() => {
                    if value.contains(':') {
                        return Err(ApiError::bad_request(
                            "Template filter must not contain a tag",
                        ));
                    }
                    query.template = Some(value.into_owned());
                }
                "limit" => {
                    let limit: i64 = value
                        .parse()
                        .map_err(|_| ApiError::bad_request(format!("Invalid limit: {value}")))?;
                    if limit < 1 {
                        return Err(ApiError::bad_request("limit must be at least 1"));
                    }
                    query.limit = (limit as usize).min(MAX_LIMIT);
                }
                "nextToken" if !value.is_empty() => token = Some(value.into_owned()),
                _ => {}
            }
        }
        if let Some(token) = token {
            query.cursor = Some(Cursor::decode(&token, query.order)?);
        }
        Ok(query)
    }

    /// v1 `GET /sandboxes`: running sandboxes only, metadata filter, newest first, no paging.
    pub fn parse_v1(raw_query: Option<&str>) -> Result<ListQuery, ApiError> {
        let mut query = ListQuery::parse_v2(None)?;
        query.states = vec![SandboxState::Running];
        query.limit = usize::MAX;
        for (key, value) in form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            if key == "metadata" {
                query.metadata = parse_metadata_filter(&value)?;
            }
        }
        Ok(query)
    }

    /// Filters, sorts and pages `records`. `template_id` is the resolved `template` filter
    /// (`Some(None)` when the filter names no known template: nothing matches).
    pub fn apply<'a>(
        &self,
        records: impl IntoIterator<Item = &'a SandboxRecord>,
        template_id: Option<Option<&str>>,
    ) -> Page<'a> {
        let mut matching: Vec<&SandboxRecord> = records
            .into_iter()
            .filter(|r| self.states.contains(&r.state()))
            .filter(|r| self.metadata_matches(r))
            .filter(|r| self.started_after.is_none_or(|t| r.started_at >= t))
            .filter(|r| template_id.is_none_or(|t| t == Some(r.template_id.as_str())))
            .collect();
        matching.sort_by(|a, b| {
            let desc = b
                .started_at
                .cmp(&a.started_at)
                .then_with(|| a.sandbox_id.cmp(&b.sandbox_id));
            match self.order {
                Order::Desc => desc,
                Order::Asc => desc.reverse(),
            }
        });
        let total_running = self.states.contains(&SandboxState::Running).then(|| {
            matching
                .iter()
                .filter(|r| r.state() == SandboxState::Running)
                .count()
        });
        if let Some(cursor) = &self.cursor {
            matching.retain(|r| cursor.is_before(r, self.order));
        }
        let more = matching.len() > self.limit;
        matching.truncate(self.limit);
        let next_token = more
            .then(|| matching.last())
            .flatten()
            .map(|last| Cursor::encode(last, self.order));
        Page {
            items: matching,
            next_token,
            total_running,
        }
    }

    fn metadata_matches(&self, record: &SandboxRecord) -> bool {
        if self.metadata.is_empty() {
            return true;
        }
        self.metadata
            .iter()
            .all(|(k, v)| record.metadata.get(k) == Some(v))
    }
}

impl Cursor {
    fn encode(last: &SandboxRecord, order: Order) -> String {
        let mut raw = format!(
            "{}__{}",
            last.started_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            last.sandbox_id
        );
        if order == Order::Asc {
            raw.push_str("__asc");
        }
        URL_SAFE.encode(raw)
    }

    fn decode(token: &str, order: Order) -> Result<Cursor, ApiError> {
        let invalid = || ApiError::bad_request("Invalid next token");
        let bytes = URL_SAFE
            .decode(token)
            .or_else(|_| URL_SAFE_NO_PAD.decode(token))
            .map_err(|_| invalid())?;
        let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
        let parts: Vec<&str> = raw.split("__").collect();
        let (time, id) = match (parts.as_slice(), order) {
            ([time, id], Order::Desc) => (*time, *id),
            ([time, id, "asc"], Order::Asc) => (*time, *id),
            _ => return Err(invalid()),
        };
        let started_at = DateTime::parse_from_rfc3339(time)
            .map_err(|_| invalid())?
            .with_timezone(&Utc);
        Ok(Cursor {
            started_at,
            sandbox_id: id.to_string(),
        })
    }

    /// Whether `record` comes after this cursor in `order`.
    fn is_before(&self, record: &SandboxRecord, order: Order) -> bool {
        let key = (record.started_at, record.sandbox_id.as_str());
        match order {
            Order::Desc => {
                key.0 < self.started_at
                    || (key.0 == self.started_at && key.1 > self.sandbox_id.as_str())
            }
            Order::Asc => {
                key.0 > self.started_at
                    || (key.0 == self.started_at && key.1 < self.sandbox_id.as_str())
            }
        }
    }
}

fn parse_states(value: &str) -> Result<Vec<SandboxState>, ApiError> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "running" => Ok(SandboxState::Running),
            "paused" => Ok(SandboxState::Paused),
            other => Err(ApiError::bad_request(format!("Invalid state: {other}"))),
        })
        .collect()
}

/// The SDKs encode `{k: v}` three times (component-escape, form-encode, query-escape); the query
/// parser undid the last, so unescape the whole string once, split the pairs, unescape each side.
pub fn parse_metadata_filter(value: &str) -> Result<Vec<(String, String)>, ApiError> {
    let invalid = || ApiError::bad_request("Invalid metadata filter");
    let decoded = query_unescape(value).ok_or_else(invalid)?;
    decoded
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let parts: Vec<&str> = pair.split('=').collect();
            let [key, value] = parts.as_slice() else {
                return Err(invalid());
            };
            Ok((
                query_unescape(key).ok_or_else(invalid)?,
                query_unescape(value).ok_or_else(invalid)?,
            ))
        })
        .collect()
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as space; a malformed escape is an error.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn record(id: &str, secs: i64, state: SandboxState, meta: &[(&str, &str)]) -> SandboxRecord {
        let started_at = Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap();
        let mut record = SandboxRecord::example(id, started_at);
        record.metadata = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if state == SandboxState::Paused {
            record.paused = Some(super::super::model::PauseInfo {
                at: started_at,
                memory: true,
            });
        }
        record
    }

    fn ids(page: &Page) -> Vec<String> {
        page.items.iter().map(|r| r.sandbox_id.clone()).collect()
    }

    #[test]
    fn metadata_filter_undoes_the_sdks_triple_encoding() {
        // JS: {"user":"abc"} → ?metadata=user%3Dabc; the query parser yields "user=abc".
        assert_eq!(
            parse_metadata_filter("user=abc").unwrap(),
            vec![("user".into(), "abc".into())]
        );
        // {"a b":"c"} → ?metadata=a%252520b%3Dc → after query parsing "a%2520b=c".
        assert_eq!(
            parse_metadata_filter("a%2520b=c").unwrap(),
            vec![("a b".into(), "c".into())]
        );
        // Two pairs: "k1=v1&k2=v2" form-encoded → "k1%3Dv1%26k2%3Dv2".
        assert_eq!(
            parse_metadata_filter("k1%3Dv1%26k2%3Dv2").unwrap(),
            vec![("k1".into(), "v1".into()), ("k2".into(), "v2".into())]
        );
        assert!(parse_metadata_filter("novalue").is_err());
        assert!(parse_metadata_filter("a=b=c").is_err());
        assert!(parse_metadata_filter("a%zz=b").is_err());
    }

    #[test]
    fn query_parsing_accepts_both_sdks_forms_and_rejects_bad_values() {
        let q = ListQuery::parse_v2(Some(
            "state=running%2Cpaused&limit=500&order=asc&startedAfter=2025-01-02T05%3A04%3A05.123456%2B02%3A00",
        ))
        .unwrap();
        assert_eq!(q.states, vec![SandboxState::Running, SandboxState::Paused]);
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(q.order, Order::Asc);
        assert_eq!(
            q.started_after.unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
                + chrono::Duration::microseconds(123456)
        );
        let q = ListQuery::parse_v2(Some("state=paused")).unwrap();
        assert_eq!(q.states, vec![SandboxState::Paused]);
        for bad in [
            "limit=0",
            "state=gone",
            "order=up",
            "template=base:v1",
            "nextToken=%%%",
            "metadata=x",
        ] {
            let err = ListQuery::parse_v2(Some(bad)).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn filters_by_state_metadata_template_and_start() {
        let records = [
            record("ia", 1, SandboxState::Running, &[("team", "x")]),
            record("ib", 2, SandboxState::Paused, &[("team", "x"), ("k", "v")]),
            record("ic", 3, SandboxState::Running, &[]),
        ];
        let q = ListQuery::parse_v2(Some("metadata=team%3Dx")).unwrap();
        assert_eq!(ids(&q.apply(&records, None)), ["ib", "ia"]);
        let q = ListQuery::parse_v2(Some("state=running")).unwrap();
        let page = q.apply(&records, None);
        assert_eq!(ids(&page), ["ic", "ia"]);
        assert_eq!(page.total_running, Some(2));
        let q = ListQuery::parse_v2(Some("state=paused")).unwrap();
        assert_eq!(q.apply(&records, None).total_running, None);
        let q = ListQuery::parse_v2(None).unwrap();
        assert!(q.apply(&records, Some(None)).items.is_empty());
        assert_eq!(q.apply(&records, Some(Some("tbase"))).items.len(), 3);
        let after = rfc(records[1].started_at);
        let q = ListQuery::parse_v2(Some(&format!("startedAfter={after}"))).unwrap();
        assert_eq!(ids(&q.apply(&records, None)), ["ic", "ib"]);
    }

    fn rfc(t: DateTime<Utc>) -> String {
        form_urlencoded::byte_serialize(t.to_rfc3339().as_bytes()).collect()
    }

    #[test]
    fn pages_one_item_at_a_time_in_both_orders_with_ties_by_id() {
        let records = [
            record("ia", 1, SandboxState::Running, &[]),
            record("ic", 2, SandboxState::Running, &[]),
            record("ib", 2, SandboxState::Paused, &[]),
            record("id", 3, SandboxState::Running, &[]),
        ];
        for (order, expected) in [
            ("desc", ["id", "ib", "ic", "ia"]),
            ("asc", ["ia", "ic", "ib", "id"]),
        ] {
            let mut seen = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut raw = format!("limit=1&order={order}");
                if let Some(t) = &token {
                    raw.push_str("&nextToken=");
                    raw.extend(form_urlencoded::byte_serialize(t.as_bytes()));
                }
                let q = ListQuery::parse_v2(Some(&raw)).unwrap();
                let page = q.apply(&records, None);
                assert_eq!(page.items.len(), 1);
                seen.push(page.items[0].sandbox_id.clone());
                match page.next_token {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{order}");
        }
    }

    #[test]
    fn a_token_from_the_other_order_is_refused() {
        let records = [
            record("ia", 1, SandboxState::Running, &[]),
            record("ib", 2, SandboxState::Running, &[]),
        ];
        let desc = ListQuery::parse_v2(Some("limit=1")).unwrap();
        let token = desc.apply(&records, None).next_token.unwrap();
        let raw = format!("limit=1&order=asc&nextToken={token}");
        let err = ListQuery::parse_v2(Some(&raw)).unwrap_err();
        assert_eq!(err.message, "Invalid next token");
    }

    #[test]
    fn v1_lists_running_only_without_paging() {
        let records: Vec<_> = (0..120)
            .map(|i| {
                let state = if i % 2 == 0 {
                    SandboxState::Running
                } else {
                    SandboxState::Paused
                };
                record(&format!("i{i}"), i, state, &[])
            })
            .collect();
        let q = ListQuery::parse_v1(Some("state=paused")).unwrap();
        let page = q.apply(&records, None);
        assert_eq!(page.items.len(), 60);
        assert!(page.next_token.is_none());
    }
}
