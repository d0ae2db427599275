//! Releases: the figures of a closed period, protected once, stored with the rules used and
//! the audit-chain head, and served as the stored bytes ever after.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::compute::{self, Figures, Pair, Scope, Window};
use super::disclosure::{
    self, Cell, CountTable, DisclosureRules, ProtectedRate, RatePos, RateRow, TablePos, protect_count,
    protect_rates_hiding, protect_table_hiding,
};
use super::linked::{self, Key, Part};
use super::period::Period;
use crate::areas::Area;
use crate::clock::Clock;
use crate::db::Db;

/// The provincial target: at least 60 % of clients with needs reach a service.
pub const TARGET: f64 = 0.6;

/// Code of the `by_area` row holding clients recorded at province level or in an area that
/// is no longer in the hierarchy (shown only when not empty).
pub const OTHER_AREA: &str = "other";

/// Referral statuses in the order of the table's columns.
pub const STATUSES: [&str; 7] = [
    "referred",
    "accepted",
    "declined",
    "cancelled",
    "in_service",
    "completed",
    "dropped_out",
];

/// A published count: the number, or the string `"<5"` (with the configured threshold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Count {
    Shown(u64),
    Hidden(String),
}

impl Count {
    pub fn from_cell(cell: Cell, min_cell: u32) -> Self {
        match cell {
            Cell::Shown(n) => Self::Shown(n),
            Cell::Suppressed => Self::Hidden(cell.display(min_cell)),
        }
    }

    pub fn shown(&self) -> Option<u64> {
        match self {
            Self::Shown(n) => Some(*n),
            Self::Hidden(_) => None,
        }
    }

    /// The number, or the `<5` text.
    pub fn text(&self) -> String {
        match self {
            Self::Shown(n) => n.to_string(),
            Self::Hidden(s) => s.clone(),
        }
    }
}

/// A rate rounded to four decimals (0.6667), so the stored text carries no float noise.
fn round_rate(rate: Option<f64>) -> Option<f64> {
    rate.map(|r| (r * 10_000.0).round() / 10_000.0)
}

/// The province-wide indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Indicator {
    pub cohort: Count,
    pub reached: Count,
    /// `reached / cohort`, only when both are shown and the cohort is not zero.
    pub rate: Option<f64>,
    pub target: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AreaRow {
    /// Area code (district level), or `other`.
    pub area: String,
    pub area_name: Option<String>,
    pub cohort: Count,
    pub reached: Count,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryRow {
    /// Service category code.
    pub category: String,
    /// Vietnamese name of the category at publication.
    pub category_name: String,
    pub cohort: Count,
    pub reached: Count,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferralRow {
    pub category: String,
    pub category_name: String,
    /// One count per entry of `statuses`.
    pub counts: Vec<Count>,
    pub total: Count,
}

/// Referrals that moved in the period, by category × the status reached by its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferralTable {
    pub statuses: Vec<String>,
    pub rows: Vec<ReferralRow>,
    /// Column totals, one per status.
    pub totals: Vec<Count>,
    pub total: Count,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Support {
    /// Volunteer support contacts dated in the period.
    pub contacts: Count,
    /// Distinct clients those contacts concern.
    pub clients: Count,
}

/// A stored release, exactly as served (`GET /api/v1/stats/releases/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Release {
    pub id: String,
    /// `2024-H1`, `2024`, or `2024-03-01..2024-05-31`.
    pub period: String,
    pub period_from: String,
    pub period_to: String,
    /// 1 for the first publication of a period, 2 for the next, …
    pub version: i64,
    pub published_at: String,
    /// Why a period was published again (version 2 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The audit-chain head (`seq:mac`) when the release was computed.
    pub audit_head: String,
    pub min_cell: u32,
    pub require_reporting_consent: bool,
    pub indicator: Indicator,
    /// The units in force during the period (and any retired unit still holding clients),
    /// each client under the unit she was in at the period's end.
    pub by_area: Vec<AreaRow>,
    /// When units of `by_area` took over earlier ones (the 2025 communes and wards), the
    /// same figures with each unit's counts added to the district-level unit it took over
    /// (the 2024 districts), so a period after a reform can be set beside one before it.
    /// Protected together with `by_area`: no hidden cell of either can be worked out from
    /// the other. Empty when no unit of the period has a predecessor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_former_area: Vec<AreaRow>,
    pub by_category: Vec<CategoryRow>,
    pub new_intakes: Count,
    pub active_caseload: Count,
    pub referrals: ReferralTable,
    pub support: Support,
}

/// Live province-level progress for the current half-year (`GET /api/v1/stats/progress`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub period: String,
    pub period_from: String,
    pub period_to: String,
    /// The figures count events up to and including this day (the day before the snapshot).
    pub as_of: String,
    pub min_cell: u32,
    /// Shown counts are rounded to the nearest multiple of this (rates are computed from the
    /// rounded counts), so consecutive daily snapshots differ only by multiples of it.
    pub rounded_to: u64,
    pub indicator: Indicator,
    pub by_category: Vec<CategoryRow>,
}

/// The rounding base of live progress (see [`Progress::rounded_to`] and `docs/disclosure.md`).
pub const PROGRESS_ROUNDING: u64 = 5;

/// A service category as listed in `service_categories`.
#[derive(Debug, Clone)]
pub struct Category {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub active: bool,
}

pub async fn categories(db: &Db) -> Result<Vec<Category>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, name_vi, name_en, active FROM service_categories ORDER BY sort, code")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Category {
                code: r.try_get("code")?,
                name_vi: r.try_get("name_vi")?,
                name_en: r.try_get("name_en")?,
                active: r.try_get::<crate::db::Flag, _>("active")?.0,
            })
        })
        .collect()
}

/// Where the counts of each recorded area go: the district-level unit (a child of the
/// province) that contains it, or [`OTHER_AREA`].
struct AreaRollup<'a> {
    units: Vec<&'a Area>,
    parent: BTreeMap<&'a str, Option<&'a str>>,
    province: &'a str,
}

impl<'a> AreaRollup<'a> {
    fn new(areas: &'a [Area], province: &'a str) -> Self {
        Self {
            units: areas.iter().filter(|a| a.parent.as_deref() == Some(province)).collect(),
            parent: areas.iter().map(|a| (a.code.as_str(), a.parent.as_deref())).collect(),
            province,
        }
    }

    /// The district-level unit the unit `code` took over: the unit of its first
    /// predecessor (a unit formed from parts of several cannot be split, so it goes under
    /// the first by code), or `code` itself when it took over none.
    fn former_of<'c>(&self, areas: &'a [Area], code: &'c str) -> &'c str
    where
        'a: 'c,
    {
        areas
            .iter()
            .find(|a| a.code == code)
            .and_then(|a| a.predecessors.first())
            .map(|p| self.unit_of(p))
            .filter(|unit| *unit != OTHER_AREA)
            .unwrap_or(code)
    }

    fn unit_of(&self, code: &str) -> &'a str {
        let mut current: &str = code;
        // Bounded: a broken hierarchy (a cycle) lands in "other" instead of looping.
        for _ in 0..16 {
            match self.parent.get_key_value(current) {
                Some((key, Some(parent))) if *parent == self.province => return key,
                Some((_, Some(parent))) => current = parent,
                _ => break,
            }
        }
        OTHER_AREA
    }
}

fn rate_row(p: Pair) -> RateRow {
    RateRow {
        cohort: p.cohort,
        reached: p.reached,
    }
}

fn indicator(total: ProtectedRate, min_cell: u32) -> Indicator {
    Indicator {
        cohort: Count::from_cell(total.cohort, min_cell),
        reached: Count::from_cell(total.reached, min_cell),
        rate: round_rate(total.rate),
        target: TARGET,
    }
}

/// The by-category rows. A client may need several categories, so the rows do not add up to
/// the province total and there is no additive relation between them or with any other
/// published figure: each row is protected on its own (primary and complement rules; a
/// single-row table whose total row is the row itself).
fn category_rows(
    figures: &Figures,
    categories: &[Category],
    rules: &DisclosureRules,
    hide: &BTreeSet<Key>,
) -> Vec<CategoryRow> {
    let counts: BTreeMap<&str, Pair> = figures.by_category.iter().map(|(c, p)| (c.as_str(), *p)).collect();
    let mut listed: Vec<(String, String)> = categories
        .iter()
        .filter(|c| c.active || counts.contains_key(c.code.as_str()))
        .map(|c| (c.code.clone(), c.name_vi.clone()))
        .collect();
    for code in counts.keys() {
        if !listed.iter().any(|(c, _)| c == code) {
            listed.push(((*code).to_owned(), (*code).to_owned()));
        }
    }
    listed
        .into_iter()
        .map(|(code, name)| {
            let pair = counts.get(code.as_str()).copied().unwrap_or_default();
            let row = rate_row(pair);
            // The row is its own total row (index 1): hide both copies of a count.
            let mut forced = Vec::new();
            if hide.contains(&Key::category_cohort(&code)) {
                forced.extend([RatePos::Cohort(0), RatePos::Cohort(1)]);
            }
            if hide.contains(&Key::category_reached(&code)) {
                forced.extend([RatePos::Reached(0), RatePos::Reached(1)]);
            }
            let (_, protected) = protect_rates_hiding(&[row], &row, rules, &forced);
            CategoryRow {
                category: code,
                category_name: name,
                cohort: Count::from_cell(protected.cohort, rules.min_cell),
                reached: Count::from_cell(protected.reached, rules.min_cell),
                rate: round_rate(protected.rate),
            }
        })
        .collect()
}

fn referral_table(
    figures: &Figures,
    categories: &[Category],
    rules: &DisclosureRules,
    hide: &BTreeSet<Key>,
) -> ReferralTable {
    let mut cells: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (category, status, n) in &figures.referrals {
        *cells.entry((category.as_str(), status.as_str())).or_default() += n;
    }
    let mut listed: Vec<(String, String)> = categories
        .iter()
        .filter(|c| c.active || cells.keys().any(|(k, _)| *k == c.code))
        .map(|c| (c.code.clone(), c.name_vi.clone()))
        .collect();
    for (code, _) in cells.keys() {
        if !listed.iter().any(|(c, _)| c == code) {
            listed.push(((*code).to_owned(), (*code).to_owned()));
        }
    }
    let matrix: Vec<Vec<u64>> = listed
        .iter()
        .map(|(code, _)| {
            STATUSES
                .iter()
                .map(|s| cells.get(&(code.as_str(), *s)).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    let table = CountTable::from_cells(matrix);
    let mut forced = Vec::new();
    for (r, (code, _)) in listed.iter().enumerate() {
        for (c, status) in STATUSES.iter().enumerate() {
            if hide.contains(&Key::referrals(code, status)) {
                forced.push(TablePos::Cell(r, c));
            }
        }
        if hide.contains(&Key::referrals_row_total(code)) {
            forced.push(TablePos::RowTotal(r));
        }
    }
    for (c, status) in STATUSES.iter().enumerate() {
        if hide.contains(&Key::referrals_column_total(status)) {
            forced.push(TablePos::ColTotal(c));
        }
    }
    if hide.contains(&Key::ReferralsTotal) {
        forced.push(TablePos::Total);
    }
    let protected = protect_table_hiding(&table, rules, &forced);
    let count = |c: &Cell| Count::from_cell(*c, rules.min_cell);
    ReferralTable {
        statuses: STATUSES.iter().map(|s| (*s).to_owned()).collect(),
        rows: listed
            .into_iter()
            .zip(protected.cells.iter().zip(&protected.row_totals))
            .map(|((category, category_name), (cells, total))| ReferralRow {
                category,
                category_name,
                counts: cells.iter().map(count).collect(),
                total: count(total),
            })
            .collect(),
        totals: protected.col_totals.iter().map(count).collect(),
        total: count(&protected.total),
    }
}

/// What a release needs besides the figures.
#[derive(Debug, Clone)]
pub struct Meta {
    pub id: String,
    pub period: Period,
    pub version: i64,
    pub published_at: String,
    pub reason: Option<String>,
    pub audit_head: String,
}

/// Applies disclosure control to true figures and assembles the release, on its own (without
/// regard to other releases: publication uses [`linked::protect_linked`]).
pub fn protect(
    meta: Meta,
    figures: &Figures,
    areas: &[Area],
    province: &str,
    categories: &[Category],
    rules: &DisclosureRules,
) -> Release {
    protect_hiding(meta, figures, areas, province, categories, rules, &BTreeSet::new())
}

/// [`protect`], with the counts named in `hide` hidden on top of the rules (and then
/// protected by secondary suppression like any hidden count).
pub(super) fn protect_hiding(
    meta: Meta,
    figures: &Figures,
    areas: &[Area],
    province: &str,
    categories: &[Category],
    rules: &DisclosureRules,
    hide: &BTreeSet<Key>,
) -> Release {
    let rollup = AreaRollup::new(areas, province);
    // The units of the period; a retired unit appears only while it still holds clients.
    let mut by_unit: BTreeMap<&str, Pair> = rollup
        .units
        .iter()
        .filter(|a| a.in_force_during(meta.period.from, meta.period.to))
        .map(|a| (a.code.as_str(), Pair::default()))
        .collect();
    for (area, pair) in &figures.by_area {
        let unit = by_unit.entry(rollup.unit_of(area)).or_default();
        unit.cohort += pair.cohort;
        unit.reached += pair.reached;
    }
    if by_unit.get(OTHER_AREA).is_some_and(|p| p.cohort == 0) {
        by_unit.remove(OTHER_AREA);
    }
    let names: BTreeMap<&str, &str> = areas.iter().map(|a| (a.code.as_str(), a.name.as_str())).collect();
    // The "other" row sorts last.
    let mut units: Vec<(&str, Pair)> = by_unit.into_iter().collect();
    units.sort_by_key(|(code, _)| (*code == OTHER_AREA, *code));
    let rows: Vec<RateRow> = units.iter().map(|(_, p)| rate_row(*p)).collect();
    let former = FormerUnits::new(&units, |code| rollup.former_of(areas, code));
    let total = rate_row(figures.total());
    let forced = |codes: &[&str], key: fn(String, Part) -> Key| {
        let mut forced = BTreeSet::new();
        for (i, code) in codes.iter().enumerate() {
            for (part, pos) in [(Part::Cohort, RatePos::Cohort(i)), (Part::Reached, RatePos::Reached(i))] {
                if hide.contains(&key((*code).to_owned(), part)) {
                    forced.insert(pos);
                }
            }
        }
        for (part, pos) in [
            (Part::Cohort, RatePos::Cohort(codes.len())),
            (Part::Reached, RatePos::Reached(codes.len())),
        ] {
            if hide.contains(&Key::Indicator(part)) {
                forced.insert(pos);
            }
        }
        forced
    };
    let unit_codes: Vec<&str> = units.iter().map(|(code, _)| *code).collect();
    let ((protected_rows, protected_total), protected_former) = protect_with_former(
        &rows,
        &total,
        &former,
        rules,
        forced(&unit_codes, Key::Area),
        forced(&former.codes, Key::FormerArea),
    );
    let min_cell = rules.min_cell;
    let single = |n: u64, key: &Key| {
        if hide.contains(key) {
            Count::from_cell(Cell::Suppressed, min_cell)
        } else {
            Count::from_cell(protect_count(n, rules), min_cell)
        }
    };
    let by_area = units
        .iter()
        .zip(protected_rows)
        .map(|((code, _), p)| AreaRow {
            area: (*code).to_owned(),
            area_name: names.get(code).map(|n| (*n).to_owned()),
            cohort: Count::from_cell(p.cohort, min_cell),
            reached: Count::from_cell(p.reached, min_cell),
            rate: round_rate(p.rate),
        })
        .collect();
    let by_former_area = former
        .codes
        .iter()
        .zip(protected_former)
        .map(|(code, p)| AreaRow {
            area: (*code).to_owned(),
            area_name: names.get(code).map(|n| (*n).to_owned()),
            cohort: Count::from_cell(p.cohort, min_cell),
            reached: Count::from_cell(p.reached, min_cell),
            rate: round_rate(p.rate),
        })
        .collect();
    Release {
        id: meta.id,
        period: meta.period.label.clone(),
        period_from: meta.period.from_text(),
        period_to: meta.period.to_text(),
        version: meta.version,
        published_at: meta.published_at,
        reason: meta.reason,
        audit_head: meta.audit_head,
        min_cell,
        require_reporting_consent: rules.require_reporting_consent,
        indicator: indicator(protected_total, min_cell),
        by_area,
        by_former_area,
        by_category: category_rows(figures, categories, rules, hide),
        new_intakes: single(figures.new_intakes, &Key::NewIntakes),
        active_caseload: single(figures.active_caseload, &Key::ActiveCaseload),
        referrals: referral_table(figures, categories, rules, hide),
        support: Support {
            contacts: single(figures.support_contacts, &Key::SupportContacts),
            clients: single(figures.support_clients, &Key::SupportClients),
        },
    }
}

/// The rows of `by_area` grouped by the district-level unit each took over: the rows of
/// the aggregated table (`by_former_area`). Empty when no unit took another over.
struct FormerUnits<'u> {
    /// The aggregated table's units, by code ("other" last).
    codes: Vec<&'u str>,
    /// For each of `codes`, the indices of the `by_area` rows it adds up.
    members: Vec<Vec<usize>>,
    /// For each of `codes`, the sum of its members.
    rows: Vec<RateRow>,
}

impl<'u> FormerUnits<'u> {
    fn new(units: &[(&'u str, Pair)], former_of: impl Fn(&'u str) -> &'u str) -> Self {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut reform = false;
        for (i, (code, _)) in units.iter().enumerate() {
            let former = former_of(code);
            reform |= former != *code;
            groups.entry(former).or_default().push(i);
        }
        if !reform {
            return Self {
                codes: Vec::new(),
                members: Vec::new(),
                rows: Vec::new(),
            };
        }
        let mut groups: Vec<(&str, Vec<usize>)> = groups.into_iter().collect();
        groups.sort_by_key(|(code, _)| (*code == OTHER_AREA, *code));
        let rows = groups
            .iter()
            .map(|(_, members)| {
                members
                    .iter()
                    .fold(RateRow { cohort: 0, reached: 0 }, |acc, i| RateRow {
                        cohort: acc.cohort + units[*i].1.cohort,
                        reached: acc.reached + units[*i].1.reached,
                    })
            })
            .collect();
        let (codes, members) = groups.into_iter().unzip();
        Self { codes, members, rows }
    }
}

/// The counts of `table` that came out hidden.
fn hidden_in(table: &[ProtectedRate], total: &ProtectedRate) -> BTreeSet<RatePos> {
    let mut hidden = BTreeSet::new();
    for (i, row) in table.iter().chain(std::iter::once(total)).enumerate() {
        if row.cohort.is_suppressed() {
            hidden.insert(RatePos::Cohort(i));
        }
        if row.reached.is_suppressed() {
            hidden.insert(RatePos::Reached(i));
        }
    }
    hidden
}

/// Protects the area table and, after a reform, the aggregated table beside it, so that
/// neither table nor their difference shows a small count. Each aggregated row is the sum
/// of its member rows, so each group (members as parts, the aggregated row as total) is
/// one more linked table: a count hidden in one table is hidden from the start in the
/// others (a group, the aggregated table, the province total they share), and the tables
/// are protected again until nothing more is hidden. Counts are only ever added to the
/// hidden sets, so this ends.
fn protect_with_former(
    rows: &[RateRow],
    total: &RateRow,
    former: &FormerUnits<'_>,
    rules: &DisclosureRules,
    mut forced_units: BTreeSet<RatePos>,
    mut forced_former: BTreeSet<RatePos>,
) -> ((Vec<ProtectedRate>, ProtectedRate), Vec<ProtectedRate>) {
    let as_vec = |set: &BTreeSet<RatePos>| set.iter().copied().collect::<Vec<_>>();
    if former.codes.is_empty() {
        return (
            protect_rates_hiding(rows, total, rules, &as_vec(&forced_units)),
            Vec::new(),
        );
    }
    let (n_units, n_former) = (rows.len(), former.rows.len());
    loop {
        let before = (forced_units.len(), forced_former.len());
        // The groups first, so that a small unit's complement is found among the units
        // that took over the same district (which keeps the district's row shown) rather
        // than in another district, whose row would then have to go too.
        for (g, members) in former.members.iter().enumerate() {
            let parts: Vec<RateRow> = members.iter().map(|i| rows[*i]).collect();
            let mut forced_group = Vec::new();
            for (local, i) in members.iter().enumerate() {
                for (global, here) in [
                    (RatePos::Cohort(*i), RatePos::Cohort(local)),
                    (RatePos::Reached(*i), RatePos::Reached(local)),
                ] {
                    if forced_units.contains(&global) {
                        forced_group.push(here);
                    }
                }
            }
            for (outer, here) in [
                (RatePos::Cohort(g), RatePos::Cohort(members.len())),
                (RatePos::Reached(g), RatePos::Reached(members.len())),
            ] {
                if forced_former.contains(&outer) {
                    forced_group.push(here);
                }
            }
            let (group, group_total) = protect_rates_hiding(&parts, &former.rows[g], rules, &forced_group);
            for (local, i) in members.iter().enumerate() {
                if group[local].cohort.is_suppressed() {
                    forced_units.insert(RatePos::Cohort(*i));
                }
                if group[local].reached.is_suppressed() {
                    forced_units.insert(RatePos::Reached(*i));
                }
            }
            if group_total.cohort.is_suppressed() {
                forced_former.insert(RatePos::Cohort(g));
            }
            if group_total.reached.is_suppressed() {
                forced_former.insert(RatePos::Reached(g));
            }
        }
        let units = protect_rates_hiding(rows, total, rules, &as_vec(&forced_units));
        let aggregated = protect_rates_hiding(&former.rows, total, rules, &as_vec(&forced_former));
        forced_units.extend(hidden_in(&units.0, &units.1));
        forced_former.extend(hidden_in(&aggregated.0, &aggregated.1));
        // The province total is one figure in both tables.
        for (pos_units, pos_former) in [
            (RatePos::Cohort(n_units), RatePos::Cohort(n_former)),
            (RatePos::Reached(n_units), RatePos::Reached(n_former)),
        ] {
            if forced_units.contains(&pos_units) || forced_former.contains(&pos_former) {
                forced_units.insert(pos_units);
                forced_former.insert(pos_former);
            }
        }
        if (forced_units.len(), forced_former.len()) == before {
            return (units, aggregated.0);
        }
    }
}

/// The half-year of live progress on `today` and the day its figures run to: the half-year
/// containing yesterday, counted up to and including yesterday (a day that is over, so the
/// snapshot does not depend on the hour it is taken).
pub fn progress_window(today: NaiveDate) -> Result<(Period, Window), StatsError> {
    let as_of = today.pred_opt().ok_or(StatsError::Period)?;
    let period = Period::half_year_of(as_of).map_err(|_| StatsError::Period)?;
    let window = Window {
        from: period.from,
        to: as_of,
        as_of,
        today,
    };
    Ok((period, window))
}

/// Rounds a shown count to the nearest multiple of [`PROGRESS_ROUNDING`] (halves up).
pub fn round_progress(n: u64) -> u64 {
    let base = PROGRESS_ROUNDING;
    n.saturating_add(base / 2) / base * base
}

fn round_count(count: &mut Count) {
    if let Count::Shown(n) = count {
        *n = round_progress(*n);
    }
}

/// `reached / cohort` of two counts as published (rounded), when both are shown.
fn shown_rate(cohort: &Count, reached: &Count) -> Option<f64> {
    match (cohort.shown(), reached.shown()) {
        #[allow(clippy::cast_precision_loss)] // a displayed percentage, not an exact count
        (Some(c), Some(r)) if c > 0 => round_rate(Some(r as f64 / c as f64)),
        _ => None,
    }
}

/// Live province-level progress from the true figures: the rules of a release (with the counts
/// of `hide` hidden on top), then every shown count rounded and the rates computed from the
/// rounded counts.
pub(super) fn protect_progress(
    period: &Period,
    window: &Window,
    figures: &Figures,
    categories: &[Category],
    rules: &DisclosureRules,
    hide: &BTreeSet<Key>,
) -> Progress {
    let total = rate_row(figures.total());
    let mut forced = Vec::new();
    if hide.contains(&Key::Indicator(Part::Cohort)) {
        forced.extend([RatePos::Cohort(0), RatePos::Cohort(1)]);
    }
    if hide.contains(&Key::Indicator(Part::Reached)) {
        forced.extend([RatePos::Reached(0), RatePos::Reached(1)]);
    }
    let (_, protected) = protect_rates_hiding(&[total], &total, rules, &forced);
    let mut indicator = indicator(protected, rules.min_cell);
    round_count(&mut indicator.cohort);
    round_count(&mut indicator.reached);
    indicator.rate = shown_rate(&indicator.cohort, &indicator.reached);
    let mut by_category = category_rows(figures, categories, rules, hide);
    for row in &mut by_category {
        round_count(&mut row.cohort);
        round_count(&mut row.reached);
        row.rate = shown_rate(&row.cohort, &row.reached);
    }
    Progress {
        period: period.label.clone(),
        period_from: period.from_text(),
        period_to: period.to_text(),
        as_of: window.as_of.to_string(),
        min_cell: rules.min_cell,
        rounded_to: PROGRESS_ROUNDING,
        indicator,
        by_category,
    }
}

/// Today's progress snapshot, as stored: the first call of a day computes it (protected
/// against every release overlapping it), later calls that day get the same bytes.
pub async fn progress(db: &Db, clock: &Clock, rules: &DisclosureRules) -> Result<(Progress, String), StatsError> {
    let today = clock.today();
    let day = today.to_string();
    if let Some(body) = stored_progress(db, &day).await? {
        return Ok((serde_json::from_str(&body)?, body));
    }
    let (period, window) = progress_window(today)?;
    let figures = compute::figures(db, window, rules.require_reporting_consent, Scope::Progress).await?;
    let categories = categories(db).await?;
    let published = overlapping(&db.pool, window.from, window.to).await?;
    let progress = linked::protect_progress_linked(&period, &window, &figures, &categories, rules, &published);
    let body = serde_json::to_string(&progress)?;
    // Two first calls at once: one snapshot wins and both serve it.
    sqlx::query(
        "INSERT INTO stats_progress (day, period, taken_at, body) VALUES ($1, $2, $3, $4) ON CONFLICT (day) DO NOTHING",
    )
    .bind(&day)
    .bind(&progress.period)
    .bind(crate::db::timestamp(clock.now()))
    .bind(&body)
    .execute(&db.pool)
    .await?;
    let body = stored_progress(db, &day).await?.ok_or(StatsError::Period)?;
    Ok((serde_json::from_str(&body)?, body))
}

async fn stored_progress(db: &Db, day: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT body FROM stats_progress WHERE day = $1")
        .bind(day)
        .fetch_optional(&db.pool)
        .await
}

/// The stored releases whose period shares a day with `from..=to` (ISO dates compare as text).
async fn overlapping<'e, E>(executor: E, from: NaiveDate, to: NaiveDate) -> Result<Vec<Release>, StatsError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM stats_releases WHERE period_from <= $1 AND period_to >= $2 ORDER BY published_at, id",
    )
    .bind(to.to_string())
    .bind(from.to_string())
    .fetch_all(executor)
    .await?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(StatsError::from))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("no half-year for today's progress")]
    Period,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("stored statistics: {0}")]
    Json(#[from] serde_json::Error),
}

/// The disclosure rules in force: `disclosure.toml` of the policy folder when one is
/// configured and holds it, the built-in `policies/disclosure.toml` otherwise.
pub fn rules(settings: &crate::config::Settings) -> Result<DisclosureRules, RulesError> {
    const EMBEDDED: &str = include_str!("../../policies/disclosure.toml");
    if let Some(dir) = &settings.policy_dir {
        let path = dir.join("disclosure.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(RulesError::Io)?;
            return Ok(DisclosureRules::from_toml_str(&text)?);
        }
    }
    Ok(DisclosureRules::from_toml_str(EMBEDDED)?)
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read disclosure.toml: {0}")]
    Io(std::io::Error),
    #[error(transparent)]
    Invalid(#[from] disclosure::DisclosureError),
}

impl From<RulesError> for crate::error::Error {
    fn from(e: RulesError) -> Self {
        Self::Internal(crate::error::Internal::Config(e.to_string()))
    }
}

impl From<StatsError> for crate::error::Error {
    fn from(e: StatsError) -> Self {
        use crate::error::Internal;
        Self::Internal(match e {
            StatsError::Db(e) => Internal::Db(e),
            other => Internal::Inconsistent(other.to_string()),
        })
    }
}

/// One line of the list of releases.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: String,
    pub period: String,
    pub period_from: String,
    pub period_to: String,
    pub version: i64,
    pub published_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub audit_head: String,
}

pub async fn list(db: &Db) -> Result<Vec<Summary>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, period, period_from, period_to, version, published_at, reason, audit_head FROM stats_releases \
         ORDER BY period_to DESC, period_from DESC, version DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Summary {
                id: r.try_get("id")?,
                period: r.try_get("period")?,
                period_from: r.try_get("period_from")?,
                period_to: r.try_get("period_to")?,
                version: r.try_get("version")?,
                published_at: r.try_get("published_at")?,
                reason: r.try_get("reason")?,
                audit_head: r.try_get("audit_head")?,
            })
        })
        .collect()
}

/// The stored body of a release, byte for byte.
pub async fn stored_body(db: &Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT body FROM stats_releases WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// The id of the newest release (by period end, then version).
pub async fn latest_id(db: &Db) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM stats_releases ORDER BY period_to DESC, published_at DESC, version DESC LIMIT 1")
        .fetch_optional(&db.pool)
        .await
}

/// The next version number for a period (1 when it was never published).
pub async fn next_version(db: &Db, period: &Period) -> Result<i64, sqlx::Error> {
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM stats_releases WHERE period_from = $1 AND period_to = $2")
            .bind(period.from_text())
            .bind(period.to_text())
            .fetch_one(&db.pool)
            .await?;
    Ok(last.unwrap_or(0) + 1)
}

/// Protects the figures of a new release against every stored release overlapping its period
/// ([`linked::protect_linked`]) and stores it, inside the caller's transaction (which
/// commits it with its audit entry), after first taking the publication lock, so that two
/// publications at once are each protected against the other. Returns the release and its
/// stored JSON.
#[allow(clippy::too_many_arguments)] // the inputs of `protect`, the rules' record and the publisher
pub async fn publish_linked(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    meta: Meta,
    figures: &Figures,
    areas: &[Area],
    province: &str,
    categories: &[Category],
    rules: &DisclosureRules,
    published_by: &str,
) -> Result<(Release, String), StatsError> {
    sqlx::query("UPDATE stats_publication_lock SET publications = publications + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    let published = overlapping(&mut **tx, meta.period.from, meta.period.to).await?;
    let release = linked::protect_linked(meta, figures, areas, province, categories, rules, &published);
    let body = serde_json::to_string(&release)?;
    insert(&mut **tx, &release, &body, rules, published_by).await?;
    Ok((release, body))
}

/// Stores a release; the body is the serialized release, kept as the bytes to serve.
async fn insert<'e, E>(
    executor: E,
    release: &Release,
    body: &str,
    rules: &DisclosureRules,
    published_by: &str,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rules_text = serde_json::to_string(rules).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO stats_releases (id, period, period_from, period_to, version, published_at, published_by, \
         reason, audit_head, rules, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&release.id)
    .bind(&release.period)
    .bind(&release.period_from)
    .bind(&release.period_to)
    .bind(release.version)
    .bind(&release.published_at)
    .bind(published_by)
    .bind(&release.reason)
    .bind(&release.audit_head)
    .bind(rules_text)
    .bind(body)
    .execute(executor)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(code: &str, parent: Option<&str>) -> Area {
        Area {
            code: code.into(),
            name: format!("Area {code}"),
            kind: if parent.is_none() { "province" } else { "district" }.into(),
            parent: parent.map(Into::into),
            valid_from: None,
            valid_to: None,
            predecessors: Vec::new(),
        }
    }

    fn meta() -> Meta {
        Meta {
            id: "r1".into(),
            period: Period::half_year(2024, 1).unwrap(),
            version: 1,
            published_at: "2024-07-02T00:00:00Z".into(),
            reason: None,
            audit_head: "3:ab".into(),
        }
    }

    #[test]
    fn areas_roll_up_to_districts() {
        let areas = vec![
            area("40", None),
            area("412", Some("40")),
            area("413", Some("40")),
            area("414", Some("40")),
            area("41201", Some("412")),
        ];
        let figures = Figures {
            by_area: vec![
                ("412".into(), Pair { cohort: 6, reached: 3 }),
                ("41201".into(), Pair { cohort: 4, reached: 3 }),
                ("413".into(), Pair { cohort: 3, reached: 3 }),
                ("40".into(), Pair { cohort: 0, reached: 0 }),
            ],
            ..Figures::default()
        };
        let rules = DisclosureRules {
            min_cell: 2,
            require_reporting_consent: true,
        };
        let release = protect(meta(), &figures, &areas, "40", &[], &rules);
        let row = |code: &str| release.by_area.iter().find(|r| r.area == code).unwrap().clone();
        // 412 gets its commune's clients: 10 of whom 6 reached.
        assert_eq!(
            (row("412").cohort, row("412").reached),
            (Count::Shown(10), Count::Shown(6))
        );
        assert_eq!(row("412").rate, Some(0.6));
        // A district without clients is listed with zeros; the empty "other" row is not.
        assert_eq!(row("414").cohort, Count::Shown(0));
        assert_eq!(row("414").rate, None);
        assert_eq!(release.by_area.len(), 3);
        assert_eq!(release.indicator.cohort, Count::Shown(13));
        assert_eq!(release.indicator.rate, Some(0.6923));
        let json = serde_json::to_value(&release).unwrap();
        assert_eq!(json["indicator"]["target"], 0.6);
        assert_eq!(json["new_intakes"], 0);
    }

    #[test]
    fn small_counts_become_text() {
        let rules = DisclosureRules::default();
        let release = protect(
            meta(),
            &Figures {
                new_intakes: 3,
                support_contacts: 12,
                support_clients: 4,
                ..Figures::default()
            },
            &[area("40", None)],
            "40",
            &[],
            &rules,
        );
        let json = serde_json::to_value(&release).unwrap();
        assert_eq!(json["new_intakes"], "<5");
        assert_eq!(json["support"]["contacts"], 12);
        assert_eq!(json["support"]["clients"], "<5");
    }

    #[test]
    fn counts_round_trip_as_numbers_or_strings() {
        let v: Vec<Count> = serde_json::from_str(r#"[3, "<5"]"#).unwrap();
        assert_eq!(v, vec![Count::Shown(3), Count::Hidden("<5".into())]);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"[3,"<5"]"#);
    }

    /// Province 40; districts 412, 413, 414 retired on 30 June 2025; wards of 1 July 2025:
    /// three took over 412, one 413, two 414; 415 is not reformed.
    fn reformed() -> Vec<Area> {
        let unit = |code: &str, predecessor: Option<&str>| Area {
            valid_from: Some("2025-07-01".parse().unwrap()),
            kind: "ward".into(),
            predecessors: predecessor.iter().map(|p| (*p).to_owned()).collect(),
            ..area(code, Some("40"))
        };
        let retired = |code: &str| Area {
            valid_to: Some("2025-06-30".parse().unwrap()),
            ..area(code, Some("40"))
        };
        vec![
            area("40", None),
            retired("412"),
            retired("413"),
            retired("414"),
            area("415", Some("40")),
            unit("w1", Some("412")),
            unit("w2", Some("412")),
            unit("w3", Some("412")),
            unit("w4", Some("413")),
            unit("w5", Some("414")),
            unit("w6", Some("414")),
        ]
    }

    fn second_half_2025() -> Meta {
        Meta {
            period: Period::half_year(2025, 2).unwrap(),
            ..meta()
        }
    }

    #[test]
    fn after_a_reform_the_release_lists_the_new_units_and_adds_them_up_by_the_old() {
        let figures = Figures {
            by_area: vec![
                (
                    "w1".into(),
                    Pair {
                        cohort: 20,
                        reached: 12,
                    },
                ),
                ("w2".into(), Pair { cohort: 10, reached: 6 }),
                ("w3".into(), Pair { cohort: 8, reached: 5 }),
                ("w4".into(), Pair { cohort: 9, reached: 9 }),
                ("415".into(), Pair { cohort: 7, reached: 5 }),
                // Clients of 414 not moved yet still count under it.
                ("414".into(), Pair { cohort: 6, reached: 3 }),
            ],
            ..Figures::default()
        };
        let rules = DisclosureRules::default();
        let release = protect(second_half_2025(), &figures, &reformed(), "40", &[], &rules);
        let codes: Vec<&str> = release.by_area.iter().map(|r| r.area.as_str()).collect();
        assert_eq!(
            codes,
            ["414", "415", "w1", "w2", "w3", "w4", "w5", "w6"],
            "412 and 413 are gone"
        );
        let former: Vec<(&str, &Count)> = release
            .by_former_area
            .iter()
            .map(|r| (r.area.as_str(), &r.cohort))
            .collect();
        assert_eq!(
            former,
            [
                ("412", &Count::Shown(38)),
                ("413", &Count::Shown(9)),
                ("414", &Count::Shown(6)),
                ("415", &Count::Shown(7))
            ]
        );
        // A release before the reform lists the districts and has no aggregated table.
        let districts = Figures {
            by_area: vec![
                (
                    "412".into(),
                    Pair {
                        cohort: 20,
                        reached: 12,
                    },
                ),
                ("414".into(), Pair { cohort: 9, reached: 5 }),
            ],
            ..Figures::default()
        };
        let before = protect(meta(), &districts, &reformed(), "40", &[], &rules);
        let codes: Vec<&str> = before.by_area.iter().map(|r| r.area.as_str()).collect();
        assert_eq!(codes, ["412", "413", "414", "415"]);
        assert!(before.by_former_area.is_empty());
        assert!(serde_json::to_value(&before).unwrap().get("by_former_area").is_none());
    }

    /// The shown value of a count, `None` when hidden.
    fn shown(count: &Count) -> Option<u64> {
        count.shown()
    }

    /// Whether `total = sum(parts)` gives a hidden count away by the rules of
    /// `docs/disclosure.md`: exactly one term hidden, or the hidden terms adding up to a
    /// small number. With `implied` (the not-reached counts, never published themselves),
    /// only a small count worked out exactly.
    fn gives_away(parts: &[Option<u64>], total: Option<u64>, implied: Option<&[u64]>) -> bool {
        let hidden = parts.iter().filter(|p| p.is_none()).count() + usize::from(total.is_none());
        let small = |n: u64| (1..5).contains(&n);
        let rest = |total: u64| total.saturating_sub(parts.iter().flatten().sum());
        match (hidden, total, implied) {
            (0, _, _) => false,
            (1, Some(total), Some(_)) => small(rest(total)),
            (1, None, Some(_)) => small(parts.iter().flatten().sum()),
            (1, _, None) => true,
            (_, Some(total), None) => small(rest(total)),
            _ => false,
        }
    }

    #[test]
    fn no_hidden_count_can_be_worked_out_from_the_two_area_tables() {
        let rules = DisclosureRules::default();
        let areas = reformed();
        let codes = ["414", "415", "w1", "w2", "w3", "w4", "w5", "w6"];
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let mut tried_with_hidden = 0;
        for _ in 0..300 {
            let by_area = codes
                .iter()
                .map(|code| {
                    let cohort = next(14);
                    let reached = next(cohort + 1);
                    ((*code).to_owned(), Pair { cohort, reached })
                })
                .collect();
            let figures = Figures {
                by_area,
                ..Figures::default()
            };
            let release = protect(second_half_2025(), &figures, &areas, "40", &[], &rules);
            let row = |table: &[AreaRow], code: &str| table.iter().find(|r| r.area == code).cloned();
            let parts_of =
                |rows: &[AreaRow], part: fn(&AreaRow) -> Option<u64>| rows.iter().map(part).collect::<Vec<_>>();
            let cohort = |r: &AreaRow| shown(&r.cohort);
            let reached = |r: &AreaRow| shown(&r.reached);
            let not_reached = |r: &AreaRow| shown(&r.cohort).zip(shown(&r.reached)).map(|(c, r)| c - r);
            let i = &release.indicator;
            let totals = [
                shown(&i.cohort),
                shown(&i.reached),
                shown(&i.cohort).zip(shown(&i.reached)).map(|(c, r)| c - r),
            ];
            for (k, part) in [cohort, reached, not_reached].into_iter().enumerate() {
                let implied = (k == 2).then_some(&[][..]);
                for table in [&release.by_area, &release.by_former_area] {
                    for count in parts_of(table, part).into_iter().flatten() {
                        assert!(
                            !(1..5).contains(&count) || k == 2,
                            "a small count is shown: {release:?}"
                        );
                    }
                    assert!(
                        !gives_away(&parts_of(table, part), totals[k], implied),
                        "a table and its total: {release:?}"
                    );
                }
                for former in &release.by_former_area {
                    let members: Vec<AreaRow> = codes
                        .iter()
                        .filter(|code| {
                            let unit = areas.iter().find(|a| a.code == **code).unwrap();
                            unit.predecessors.first().map_or(**code, String::as_str) == former.area
                        })
                        .filter_map(|code| row(&release.by_area, code))
                        .collect();
                    assert!(
                        !gives_away(&parts_of(&members, part), part(former), implied),
                        "district {} and its wards: {release:?}",
                        former.area
                    );
                }
            }
            if release.by_area.iter().any(|r| r.cohort.shown().is_none()) {
                tried_with_hidden += 1;
            }
        }
        assert!(tried_with_hidden > 100, "the data sets hid something in most rounds");
    }
}
