//! Server alerts on the wire: the object, the envelopes, the search filters (checked into
//! [`ServerQuery`]) and the sort fields with their aliases.

use chrono_tz::Tz;
use picket_core::ApiError;
use sea_query::Order;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::alerts::filters::{levels, lowered, TimeRange};
use crate::listing::matching::TextPath;
use crate::listing::{OneOrMany, PageInfo, SearchFilters, SortField};

/// A server (syslog) alert as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServerAlert {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS`, server timezone.
    pub timestamp: String,
    /// Agent hash.
    pub agent: String,
    pub agent_name: String,
    /// The host the log line came from.
    pub hostname: String,
    /// 10 (low), 20 (medium) or 30 (high).
    pub level: i64,
    /// e.g. `auth`, `sudo`, `bruteforce`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The alert title.
    pub title: String,
    /// The full log line.
    pub line: String,
}

/// `{"server_alerts": […], "page", "page_size", "total_rows", "total_pages"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerAlertList {
    pub server_alerts: Vec<ServerAlert>,
    #[serde(flatten)]
    pub page: PageInfo,
}

/// `{"deleted": true, "server_alert": …}`, the alert as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerAlertDeleted {
    pub deleted: bool,
    pub server_alert: ServerAlert,
}

/// `filters` of `POST /api/v1/serveralerts/search`. Arrays match any of their values; all
/// given filters must match.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerAlertFilters {
    /// Inclusive lower bound: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS`,
    /// server timezone.
    pub from: Option<String>,
    /// Inclusive upper bound; a date covers its whole day, `HH:MM` its whole minute.
    pub to: Option<String>,
    /// Agent hashes (alias `agent_id`).
    #[serde(default, alias = "agent_id")]
    #[schema(value_type = Vec<String>)]
    pub agent: OneOrMany<String>,
    /// Source hostnames; `%`/`_` wildcards.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub hostname: OneOrMany<String>,
    /// 10, 20 or 30.
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    pub level: OneOrMany<i64>,
    /// Alert types.
    #[serde(default, rename = "type")]
    #[schema(value_type = Vec<String>)]
    pub kind: OneOrMany<String>,
    /// LIKE on the title (alias `message`: the title, not the log line).
    #[serde(default, alias = "message")]
    #[schema(value_type = Vec<String>)]
    pub title: OneOrMany<String>,
    /// Contained in the full log line (alias `line`).
    #[serde(default, alias = "line")]
    #[schema(value_type = Vec<String>)]
    pub search: OneOrMany<String>,
}

impl SearchFilters for ServerAlertFilters {
    type Sort = ServerAlertSort;
    const PAGINATED: bool = true;
    /// Filter names refused on `GET /api/v1/serveralerts`.
    const NAMES: &'static [&'static str] = &[
        "from", "to", "agent", "agent_id", "hostname", "type", "title", "message", "level",
        "search", "line",
    ];
    const SEARCH_PATH: &'static str = "/api/v1/serveralerts/search";
    const SORT_DOC: &'static str =
        "id, timestamp, source (hostname), agent, type, title (subject, message), level, log (line); default timestamp";
}

/// The search filters after validation.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    pub time: TimeRange,
    pub agents: Vec<String>,
    pub hostnames: Vec<String>,
    pub levels: Vec<i64>,
    pub types: Vec<String>,
    pub titles: Vec<String>,
    pub search: Vec<String>,
    /// How `search` reaches the rows (always the index for requests).
    pub text_path: TextPath,
}

impl ServerAlertFilters {
    pub fn check(self, tz: Tz) -> Result<ServerQuery, ApiError> {
        let non_empty =
            |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|s| !s.is_empty()).collect() };
        Ok(ServerQuery {
            time: TimeRange::parse(self.from.as_deref(), self.to.as_deref(), tz)?,
            agents: lowered(&self.agent.0),
            hostnames: non_empty(self.hostname.0),
            levels: levels(&self.level.0)?,
            types: lowered(&self.kind.0),
            titles: non_empty(self.title.0),
            search: non_empty(self.search.0),
            text_path: TextPath::Indexed,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAlertSort {
    Id,
    Timestamp,
    Source,
    Agent,
    Type,
    Title,
    Level,
    Log,
}

impl SortField for ServerAlertSort {
    const DEFAULT: ServerAlertSort = ServerAlertSort::Timestamp;
    const DEFAULT_ORDER: Order = Order::Desc;
    fn parse(name: &str) -> Option<ServerAlertSort> {
        use ServerAlertSort::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => Id,
            "timestamp" => Timestamp,
            "source" | "hostname" => Source,
            "agent" => Agent,
            "type" => Type,
            "title" | "subject" | "message" => Title,
            "level" => Level,
            "log" | "line" => Log,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_core::extract::parse_json;

    #[test]
    fn aliases_fill_the_documented_filters() {
        let f: ServerAlertFilters =
            parse_json(br#"{"agent_id":"AB12","message":"Failed%","line":"root"}"#).unwrap();
        let q = f.check(chrono_tz::UTC).unwrap();
        assert_eq!(q.agents, ["ab12"]);
        assert_eq!(q.titles, ["Failed%"]);
        assert_eq!(q.search, ["root"]);
        assert_eq!(
            ServerAlertSort::parse("subject"),
            Some(ServerAlertSort::Title)
        );
        assert_eq!(ServerAlertSort::parse("line"), Some(ServerAlertSort::Log));
        assert_eq!(
            ServerAlertSort::parse("hostname"),
            Some(ServerAlertSort::Source)
        );
    }
}
