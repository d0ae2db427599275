//! What a move names, what it answers, and what is still to be moved.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many moves in one request (a 2024 district held a few hundred clients).
pub const MAX_MOVES: usize = 2000;

/// `POST /moves/clients`: clients of retired units, each to a unit that succeeded hers.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMoves {
    /// `YYYY-MM-DD`, the day the clients belong to their new unit: after the day their
    /// old unit ended, on or after the new unit began, not in the future.
    pub on: Option<String>,
    pub moves: Vec<ClientMove>,
}

/// One client by code, and the unit she goes to.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMove {
    pub code: String,
    pub to: String,
}

/// `POST /moves/accounts`: staff accounts of retired units, each to a unit in force.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMoves {
    pub moves: Vec<AccountMove>,
}

/// One account by username, and the unit its scope becomes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMove {
    pub username: String,
    pub to: String,
}

/// How many were moved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moved {
    pub moved: usize,
}

/// What is still to be moved, within the caller's reach: clients for a supervisor,
/// accounts for an admin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pending {
    pub clients: Vec<PendingClient>,
    /// How many clients in all (the list holds one page).
    pub clients_total: usize,
    pub accounts: Vec<PendingAccount>,
}

/// A client whose unit is retired: her code, her unit, and where she may go.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingClient {
    pub id: String,
    pub code: String,
    pub area: String,
    /// The units she may be moved to, by code.
    pub successors: Vec<String>,
}

/// A staff account whose unit is retired.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingAccount {
    pub id: String,
    pub username: String,
    pub role: String,
    pub area: String,
    /// The units that succeeded hers, by code (an admin may choose another unit).
    pub successors: Vec<String>,
}

/// Reads a CSV of moves with a header: a `key` column (`code` for clients, `username`
/// for accounts) and a `to` column, in any order. Each bad line is named.
pub fn read_csv(csv: &str, key: &str) -> Result<Vec<(String, String)>, crate::error::FieldErrors> {
    let mut errors = crate::error::FieldErrors::new();
    let mut moves = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv.as_bytes());
    let columns = match reader.headers() {
        Ok(header) => {
            let at = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
            at(key).zip(at("to"))
        }
        Err(_) => None,
    };
    let Some((key_at, to_at)) = columns else {
        errors.insert("csv".into(), "field-moves-csv_header");
        return Err(errors);
    };
    for (i, record) in reader.records().enumerate() {
        // A longer list is refused whole: stop reading it.
        if i == MAX_MOVES {
            return Err(crate::error::FieldErrors::from([(
                "moves".to_owned(),
                "field-moves-too_many",
            )]));
        }
        let line = i + 2;
        let Ok(record) = record else {
            errors.insert(format!("line {line}"), "field-moves-csv_line");
            continue;
        };
        let field = |at: usize| record.get(at).unwrap_or_default().to_owned();
        let (name, to) = (field(key_at), field(to_at));
        if name.is_empty() && to.is_empty() {
            continue;
        }
        if name.is_empty() || to.is_empty() {
            errors.insert(format!("line {line}"), "field-moves-csv_line");
        }
        moves.push((name, to));
    }
    if !errors.is_empty() {
        Err(errors)
    } else if moves.is_empty() {
        errors.insert("csv".into(), "field-required");
        Err(errors)
    } else {
        Ok(moves)
    }
}
