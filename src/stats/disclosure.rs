//! Statistical disclosure control for published count tables.
//!
//! Managers only ever see anonymised counts. A count of one to four people (with the default
//! threshold) can identify a client in a small area or service, so such counts are hidden, and
//! the tables are then checked so that a hidden count cannot be worked back out from what is
//! shown. This module is pure: it takes the true counts and the [`DisclosureRules`] and returns
//! what may be published. Leaving out clients without reporting consent happens *before* the
//! counts reach this module (the query layer reads [`DisclosureRules::require_reporting_consent`]).
//!
//! # The model
//!
//! Every published table is turned into a small linear system. Its *entries* are the counts
//! (cells, margins, grand total), and its *lines* are the additive relations between them: one
//! line per row (`row total = sum of the row's cells`), one per column, and one each for the
//! row-total column and the column-total row (`grand total = sum of row totals = sum of column
//! totals`). A reader knows every shown entry and every line, so the hidden entries are
//! unknowns of the system `A x = b`, where `A` holds the lines restricted to the unknowns.
//!
//! A hidden entry `x` can be computed exactly iff the unit vector `e_x` lies in the row space of
//! `A`; the right-hand side does not matter, only which entries are unknown. The check is done
//! with fraction-free Gauss–Jordan elimination over `i128` (no floating point). After flipping the
//! sign of the margins, `A` is the incidence matrix of a complete bipartite graph (extended rows
//! against extended columns), which is totally unimodular, so the numbers in the elimination stay
//! tiny; an arithmetic overflow is nevertheless handled by hiding everything (fail closed).
//!
//! Graph view of the same fact: take every line as a node and every entry as an edge between
//! the two lines it belongs to (a cell joins its row and its column, a row total joins its row
//! and the row-total column, the grand total joins the two margin lines). The null space of the
//! system is the cycle space of the graph of unknown entries, so an unknown entry is exactly
//! determined iff it is a bridge of that graph, i.e. lies on no cycle of unknown entries. This is
//! why a hidden 2x2 block with all margins shown is safe (it is a cycle) and a lone hidden cell
//! in a row is not. The view is used to *choose* what to hide; the linear algebra decides.
//!
//! [`protect_rates`] uses the same machinery on a table with columns reached / not reached /
//! cohort (see its docs); the not-reached counts are never published but are unknowns whose
//! small values must not become computable.
//!
//! # Rules
//!
//! 1. **Primary suppression.** A published count in `1..min_cell` is hidden. Zero is shown: a 0
//!    is not sensitive.
//! 2. **Complement pairs.** For every line with a published total `t` and every published part
//!    `p > 0` of it: if `t - p` is in `1..min_cell`, the part `p` is hidden, because showing `p`
//!    next to `t` would reveal the small complement (e.g. `cohort - reached`: "all but three
//!    clients were reached"). The *part* is hidden rather than the total, so totals stay
//!    visible as long as possible.
//! 3. **Secondary suppression**, repeated until none of the following holds:
//!    * a hidden published entry is exactly determined by the shown entries and the lines (this
//!      includes the classic "a line with exactly one hidden entry" case, and hidden margins,
//!      which are unknowns like the cells);
//!    * an entry that is never published itself but is implied by the table (the not-reached
//!      count `cohort - reached` of [`protect_rates`]) is in `1..min_cell` and exactly determined;
//!    * a line whose total is shown has hidden parts that together sum to a value in
//!      `1..min_cell` (the complement rule applied to the *group* of hidden parts: the shown total
//!      minus the shown parts reveals that sum);
//!    * a line whose total is shown has two or more hidden parts that are all 1, or all
//!      `min_cell - 1`: zeros are always shown and every hidden count is displayed as
//!      `"<min_cell"`, so a reader who sees their sum (`k` or `k * (min_cell - 1)`) would
//!      correctly conclude every one of them (e.g. a row `4, 4` with total `8`).
//!
//!    Each round fixes the first problem found, in a fixed order (determined entries by
//!    position, then line rules by line). For a determined entry, the cheapest set of shown
//!    entries that puts it on a cycle of unknown entries is hidden (a shortest-path search in the
//!    graph view below; a 2x2 "rectangle" in the simplest case): hiding a zero costs
//!    most (a structural zero protects nothing, so zeros are only used when nothing else can
//!    close the cycle), then hiding a margin, then the total value hidden. For a line rule, one
//!    more entry of that line is hidden: non-zero before zero, inner cells before margins, one
//!    that resolves the problem at once if there is one, then the smallest value, then the
//!    lowest position; if the line has nothing left to hide, the whole table is searched the
//!    same way. Every round hides at least one more entry, so the loop ends, and every choice is
//!    deterministic, so the same input always gives the same output. The exact linear-algebra
//!    check decides when the table is safe; the choices only steer what gets hidden.
//!
//! # Limits (documented, not silently assumed)
//!
//! * Bounds reasoning beyond a single line (a linear-programming audit of the feasible interval
//!   of every hidden cell) is not done; the exact-solvability check and the line rules above are.
//! * [`Cell::display`] shows every hidden value as `"<min_cell"`, as the design asks, but a cell
//!   hidden by *secondary* suppression (or as the part of a small complement) can be larger.
//!   Pages showing these tables should carry a footnote such as "<5: fewer than 5, or hidden to
//!   protect a small count". Primary and secondary suppressions are deliberately
//!   indistinguishable in the output, since marking them differently would point at the small
//!   counts.
//! * Margins must be the exact sums of the cells (and the total row of [`protect_rates`] the exact
//!   sum of the rows). Inconsistent input is not a table this model can reason about, so it is
//!   published fully suppressed (fail closed) instead of guessed at.

use serde::{Deserialize, Serialize};

/// Default smallest count that may be published.
pub const DEFAULT_MIN_CELL: u32 = 5;

/// Problems with a disclosure policy.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The policy text is not valid TOML, or has unknown keys or wrong types.
    #[error("invalid disclosure policy: {0}")]
    Parse(#[from] toml::de::Error),
    /// `min_cell` below 2 would hide nothing.
    #[error("invalid disclosure policy: min_cell must be at least 2 (got {0})")]
    MinCellTooSmall(u32),
}

/// Disclosure rules, as read from `policies/disclosure.toml`.
///
/// Unknown keys are rejected (a misspelt key must not silently fall back to a default); a missing
/// key takes its default, which is the protective value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisclosureRules {
    /// Counts from 1 to `min_cell - 1` are hidden. Must be at least 2.
    pub min_cell: u32,
    /// Leave out clients without reporting consent. Applied by the query layer that produces the
    /// counts, not by this module.
    pub require_reporting_consent: bool,
}

impl Default for DisclosureRules {
    fn default() -> Self {
        Self {
            min_cell: DEFAULT_MIN_CELL,
            require_reporting_consent: true,
        }
    }
}

impl DisclosureRules {
    /// Parses and validates the policy file's text.
    pub fn from_toml_str(text: &str) -> Result<Self, DisclosureError> {
        let rules: Self = toml::from_str(text)?;
        rules.validate()?;
        Ok(rules)
    }

    /// Checks the values: `min_cell` must be at least 2.
    pub fn validate(&self) -> Result<(), DisclosureError> {
        if self.min_cell < 2 {
            return Err(DisclosureError::MinCellTooSmall(self.min_cell));
        }
        Ok(())
    }

    /// The threshold actually applied. The fields are public, so rules built by hand may skip
    /// [`Self::validate`]; a value below 2 is then treated as 2 rather than disabling protection.
    fn threshold(&self) -> u64 {
        u64::from(self.min_cell.max(2))
    }
}

/// One published number after disclosure control.
///
/// The derived `Serialize` writes `{"Shown": n}` or `"Suppressed"`; it never carries the hidden
/// value, so it is safe to serialize as is. For text output use [`Cell::display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cell {
    /// The true count, safe to publish.
    Shown(u64),
    /// Hidden (primary or secondary suppression; deliberately not distinguished).
    Suppressed,
}

impl Cell {
    /// The number, or `"<{min_cell}"` when suppressed (`"<5"` by default, `"<10"` for a threshold
    /// of 10). A threshold below 2 is shown as 2, matching what the protection applied.
    ///
    /// Note: a secondarily suppressed cell may be larger than the threshold; see the module docs.
    pub fn display(&self, min_cell: u32) -> String {
        match self {
            Cell::Shown(n) => n.to_string(),
            Cell::Suppressed => format!("<{}", min_cell.max(2)),
        }
    }

    /// The shown value, if any.
    pub fn shown(&self) -> Option<u64> {
        match self {
            Cell::Shown(n) => Some(*n),
            Cell::Suppressed => None,
        }
    }

    /// Whether the value is hidden.
    pub fn is_suppressed(&self) -> bool {
        matches!(self, Cell::Suppressed)
    }
}

/// A two-way table with margins: `cells[r][c]`, row totals, column totals, grand total.
///
/// All rows must have `col_totals.len()` cells and the margins must be the exact sums; otherwise
/// [`protect_table`] suppresses everything. Build it with [`CountTable::from_cells`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountTable {
    pub cells: Vec<Vec<u64>>,
    pub row_totals: Vec<u64>,
    pub col_totals: Vec<u64>,
    pub total: u64,
}

impl CountTable {
    /// Builds a table and computes its margins. Rows shorter than the longest row make the table
    /// ragged, which [`protect_table`] treats as malformed (fully suppressed).
    pub fn from_cells(cells: Vec<Vec<u64>>) -> Self {
        let ncols = cells.iter().map(Vec::len).max().unwrap_or(0);
        let row_totals: Vec<u64> = cells
            .iter()
            .map(|row| row.iter().fold(0u64, |acc, &v| acc.saturating_add(v)))
            .collect();
        let mut col_totals = vec![0u64; ncols];
        for row in &cells {
            for (total, &v) in col_totals.iter_mut().zip(row) {
                *total = total.saturating_add(v);
            }
        }
        let total = row_totals.iter().fold(0u64, |acc, &v| acc.saturating_add(v));
        Self {
            cells,
            row_totals,
            col_totals,
            total,
        }
    }

    /// Rectangular, and every margin is the exact sum (computed without overflow).
    fn is_consistent(&self) -> bool {
        let ncols = self.col_totals.len();
        if self.row_totals.len() != self.cells.len() || self.cells.iter().any(|row| row.len() != ncols) {
            return false;
        }
        let rows_ok = self
            .cells
            .iter()
            .zip(&self.row_totals)
            .all(|(row, &total)| row.iter().map(|&v| u128::from(v)).sum::<u128>() == u128::from(total));
        let cols_ok = self.col_totals.iter().enumerate().all(|(c, &total)| {
            self.cells
                .iter()
                .map(|row| row.get(c).map_or(0, |&v| u128::from(v)))
                .sum::<u128>()
                == u128::from(total)
        });
        let grand = u128::from(self.total);
        rows_ok
            && cols_ok
            && self.row_totals.iter().map(|&v| u128::from(v)).sum::<u128>() == grand
            && self.col_totals.iter().map(|&v| u128::from(v)).sum::<u128>() == grand
    }
}

/// A [`CountTable`] after disclosure control, with the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedTable {
    pub cells: Vec<Vec<Cell>>,
    pub row_totals: Vec<Cell>,
    pub col_totals: Vec<Cell>,
    pub total: Cell,
}

impl ProtectedTable {
    /// Everything hidden, same shape as the input: the fail-closed answer for malformed input.
    fn all_suppressed(table: &CountTable) -> Self {
        Self {
            cells: table
                .cells
                .iter()
                .map(|row| vec![Cell::Suppressed; row.len()])
                .collect(),
            row_totals: vec![Cell::Suppressed; table.row_totals.len()],
            col_totals: vec![Cell::Suppressed; table.col_totals.len()],
            total: Cell::Suppressed,
        }
    }
}

/// One row of an indicator table: of `cohort` clients, `reached` met the indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRow {
    pub cohort: u64,
    pub reached: u64,
}

/// One indicator row after disclosure control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProtectedRate {
    pub cohort: Cell,
    pub reached: Cell,
    /// `reached / cohort` in `0.0..=1.0`; `None` (not shown) unless both counts are shown and
    /// the cohort is not zero.
    pub rate: Option<f64>,
}

impl ProtectedRate {
    fn suppressed() -> Self {
        Self {
            cohort: Cell::Suppressed,
            reached: Cell::Suppressed,
            rate: None,
        }
    }

    fn new(cohort: Cell, reached: Cell) -> Self {
        let rate = match (cohort, reached) {
            #[allow(clippy::cast_precision_loss)] // a displayed percentage, not an exact count
            (Cell::Shown(c), Cell::Shown(r)) if c > 0 => Some(r as f64 / c as f64),
            _ => None,
        };
        Self { cohort, reached, rate }
    }
}

/// Protects a two-way table with margins (see the module docs for the rules).
///
/// Malformed input (ragged rows, margins that are not the exact sums) is returned fully
/// suppressed. Never panics; empty tables are fine.
pub fn protect_table(table: &CountTable, rules: &DisclosureRules) -> ProtectedTable {
    protect_table_hiding(table, rules, &[])
}

/// An entry of a [`CountTable`], to be hidden on top of the rules (see [`protect_table_hiding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TablePos {
    Cell(usize, usize),
    RowTotal(usize),
    ColTotal(usize),
    Total,
}

/// [`protect_table`], with the entries of `hide` hidden from the start (as if they were small):
/// secondary suppression then protects them like any other hidden entry. Linked tables use it
/// to hide a cell whose difference with a published release would be small. Positions outside
/// the table are ignored.
pub fn protect_table_hiding(table: &CountTable, rules: &DisclosureRules, hide: &[TablePos]) -> ProtectedTable {
    if !table.is_consistent() {
        return ProtectedTable::all_suppressed(table);
    }
    let system = table_system(table, rules.threshold());
    let layout = TableLayout::of(table);
    let forced: Vec<usize> = hide
        .iter()
        .filter_map(|pos| match *pos {
            TablePos::Cell(r, c) if r < layout.rows && c < layout.cols => Some(layout.cell(r, c)),
            TablePos::RowTotal(r) if r < layout.rows => Some(layout.row_total(r)),
            TablePos::ColTotal(c) if c < layout.cols => Some(layout.col_total(c)),
            TablePos::Total => Some(layout.total()),
            _ => None,
        })
        .collect();
    let hidden = system.protect(&forced);
    let cell = |e: usize| -> Cell {
        match (hidden.get(e), system.entries.get(e)) {
            (Some(false), Some(entry)) => Cell::Shown(entry.value),
            _ => Cell::Suppressed,
        }
    };
    ProtectedTable {
        cells: (0..layout.rows)
            .map(|r| (0..layout.cols).map(|c| cell(layout.cell(r, c))).collect())
            .collect(),
        row_totals: (0..layout.rows).map(|r| cell(layout.row_total(r))).collect(),
        col_totals: (0..layout.cols).map(|c| cell(layout.col_total(c))).collect(),
        total: cell(layout.total()),
    }
}

/// Protects an indicator table: per area `(cohort, reached)` plus the total row.
///
/// Model: a table with two columns, *reached* and *not reached* (`cohort - reached`, never
/// published itself but implied whenever both counts are shown), whose row margin is the
/// cohort; the total row gives the column margins (total reached, total not reached) and the
/// grand total (total cohort). Published entries are every `cohort` and `reached`, including the
/// total row's. Then:
///
/// * a cohort or reached count in `1..min_cell` is hidden;
/// * if `cohort - reached` is in `1..min_cell`, `reached` is hidden (the cohort stays shown, the
///   rate is not);
/// * secondary suppression as in [`protect_table`], so that no hidden cohort or reached value
///   (per row or in the total row), and no small not-reached count, can be computed exactly from
///   the shown values and the shown total row;
/// * the rate is shown only when both its numerator and denominator are shown.
///
/// The total row must be the exact column sums of `rows`, and no `reached` may exceed its
/// `cohort`; otherwise everything is returned suppressed (fail closed). If the published table
/// leaves out some clients (an "unknown area"), pass them as a row of their own.
pub fn protect_rates(
    rows: &[RateRow],
    total: &RateRow,
    rules: &DisclosureRules,
) -> (Vec<ProtectedRate>, ProtectedRate) {
    protect_rates_hiding(rows, total, rules, &[])
}

/// A count of an indicator table; row `rows.len()` is the total row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RatePos {
    Cohort(usize),
    Reached(usize),
}

/// [`protect_rates`], with the counts of `hide` hidden from the start (see
/// [`protect_table_hiding`]). Positions outside the table are ignored.
pub fn protect_rates_hiding(
    rows: &[RateRow],
    total: &RateRow,
    rules: &DisclosureRules,
    hide: &[RatePos],
) -> (Vec<ProtectedRate>, ProtectedRate) {
    if !rates_consistent(rows, total) {
        return (
            vec![ProtectedRate::suppressed(); rows.len()],
            ProtectedRate::suppressed(),
        );
    }
    let system = rate_system(rows, total, rules.threshold());
    let forced: Vec<usize> = hide
        .iter()
        .filter_map(|pos| match *pos {
            RatePos::Cohort(i) if i <= rows.len() => Some(RateLayout::cohort(i)),
            RatePos::Reached(i) if i <= rows.len() => Some(RateLayout::reached(i)),
            _ => None,
        })
        .collect();
    let hidden = system.protect(&forced);
    let cell = |e: usize| -> Cell {
        match (hidden.get(e), system.entries.get(e)) {
            (Some(false), Some(entry)) if entry.published => Cell::Shown(entry.value),
            _ => Cell::Suppressed,
        }
    };
    let protected = |i: usize| ProtectedRate::new(cell(RateLayout::cohort(i)), cell(RateLayout::reached(i)));
    ((0..rows.len()).map(protected).collect(), protected(rows.len()))
}

/// Protects a single stand-alone count (e.g. new intakes this month): primary rule only, since
/// there is nothing to difference it against.
pub fn protect_count(n: u64, rules: &DisclosureRules) -> Cell {
    if is_small(u128::from(n), rules.threshold()) {
        Cell::Suppressed
    } else {
        Cell::Shown(n)
    }
}

/// `1..threshold`: sensitive. Zero is not.
fn is_small(value: u128, threshold: u64) -> bool {
    value >= 1 && value < u128::from(threshold)
}

fn rates_consistent(rows: &[RateRow], total: &RateRow) -> bool {
    let cohorts: u128 = rows.iter().map(|r| u128::from(r.cohort)).sum();
    let reached: u128 = rows.iter().map(|r| u128::from(r.reached)).sum();
    rows.iter().all(|r| r.reached <= r.cohort)
        && total.reached <= total.cohort
        && cohorts == u128::from(total.cohort)
        && reached == u128::from(total.reached)
}

/// Entry positions of a [`CountTable`] in its [`System`]: cells row by row, then row totals,
/// column totals, grand total.
struct TableLayout {
    rows: usize,
    cols: usize,
}

impl TableLayout {
    fn of(table: &CountTable) -> Self {
        Self {
            rows: table.row_totals.len(),
            cols: table.col_totals.len(),
        }
    }
    fn cell(&self, r: usize, c: usize) -> usize {
        r * self.cols + c
    }
    fn row_total(&self, r: usize) -> usize {
        self.rows * self.cols + r
    }
    fn col_total(&self, c: usize) -> usize {
        self.rows * self.cols + self.rows + c
    }
    fn total(&self) -> usize {
        self.rows * self.cols + self.rows + self.cols
    }
}

/// The linear system of a consistent [`CountTable`].
fn table_system(table: &CountTable, threshold: u64) -> System {
    let layout = TableLayout::of(table);
    let mut entries = Vec::with_capacity(layout.total() + 1);
    for row in &table.cells {
        entries.extend(row.iter().map(|&value| Entry::published(value, false)));
    }
    entries.extend(table.row_totals.iter().map(|&value| Entry::published(value, true)));
    entries.extend(table.col_totals.iter().map(|&value| Entry::published(value, true)));
    entries.push(Entry::published(table.total, true));

    let mut lines = Vec::with_capacity(layout.rows + layout.cols + 2);
    for r in 0..layout.rows {
        lines.push(Line {
            total: layout.row_total(r),
            parts: (0..layout.cols).map(|c| layout.cell(r, c)).collect(),
        });
    }
    for c in 0..layout.cols {
        lines.push(Line {
            total: layout.col_total(c),
            parts: (0..layout.rows).map(|r| layout.cell(r, c)).collect(),
        });
    }
    lines.push(Line {
        total: layout.total(),
        parts: (0..layout.rows).map(|r| layout.row_total(r)).collect(),
    });
    lines.push(Line {
        total: layout.total(),
        parts: (0..layout.cols).map(|c| layout.col_total(c)).collect(),
    });
    System::new(entries, lines, threshold)
}

/// Entry positions of an indicator table: for row `i` (the total row being `i == rows.len()`),
/// `3i` is reached, `3i + 1` not reached (derived), `3i + 2` the cohort.
struct RateLayout;

impl RateLayout {
    fn reached(i: usize) -> usize {
        3 * i
    }
    fn not_reached(i: usize) -> usize {
        3 * i + 1
    }
    fn cohort(i: usize) -> usize {
        3 * i + 2
    }
}

/// The linear system of a consistent indicator table.
fn rate_system(rows: &[RateRow], total: &RateRow, threshold: u64) -> System {
    let k = rows.len();
    let mut entries = Vec::with_capacity(3 * (k + 1));
    for (i, row) in rows.iter().chain(std::iter::once(total)).enumerate() {
        let is_total = i == k;
        entries.push(Entry::published(row.reached, is_total));
        entries.push(Entry::derived(row.cohort.saturating_sub(row.reached)));
        entries.push(Entry::published(row.cohort, true));
    }
    let mut lines = Vec::with_capacity(k + 4);
    for i in 0..=k {
        lines.push(Line {
            total: RateLayout::cohort(i),
            parts: vec![RateLayout::reached(i), RateLayout::not_reached(i)],
        });
    }
    for column in [
        RateLayout::reached as fn(usize) -> usize,
        RateLayout::not_reached,
        RateLayout::cohort,
    ] {
        lines.push(Line {
            total: column(k),
            parts: (0..k).map(column).collect(),
        });
    }
    System::new(entries, lines, threshold)
}

/// One count in a [`System`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    value: u64,
    /// Published entries are shown unless hidden. Derived ones are never published (always
    /// unknown to the reader) but must not be computable when they are small.
    published: bool,
    /// Margins are hidden only when no inner cell will do.
    margin: bool,
}

impl Entry {
    fn published(value: u64, margin: bool) -> Self {
        Self {
            value,
            published: true,
            margin,
        }
    }
    fn derived(value: u64) -> Self {
        Self {
            value,
            published: false,
            margin: false,
        }
    }
}

/// `entries[total] = sum of entries[parts]`.
#[derive(Debug, Clone)]
struct Line {
    total: usize,
    parts: Vec<usize>,
}

/// A problem that secondary suppression must fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Violation {
    /// This entry must stay unknown but can be computed exactly.
    Determined(usize),
    /// This line's hidden parts reveal a small group or force their values (line rules).
    Line(usize),
    /// The exact solver overflowed (not expected; see the module docs): fail closed.
    SolverOverflow,
}

/// Entries, the additive lines between them, and the threshold.
struct System {
    entries: Vec<Entry>,
    lines: Vec<Line>,
    /// For each entry, the lines it appears in (as part or total).
    lines_of: Vec<Vec<usize>>,
    threshold: u64,
}

impl System {
    fn new(entries: Vec<Entry>, lines: Vec<Line>, threshold: u64) -> Self {
        let mut lines_of = vec![Vec::new(); entries.len()];
        for (l, line) in lines.iter().enumerate() {
            for &e in line.parts.iter().chain(std::iter::once(&line.total)) {
                if let Some(of) = lines_of.get_mut(e) {
                    of.push(l);
                }
            }
        }
        Self {
            entries,
            lines,
            lines_of,
            threshold,
        }
    }

    fn entry(&self, e: usize) -> Entry {
        self.entries.get(e).copied().unwrap_or(Entry::derived(0))
    }

    fn is_unknown(&self, hidden: &[bool], e: usize) -> bool {
        !self.entry(e).published || hidden.get(e).copied().unwrap_or(true)
    }

    fn is_shown(&self, hidden: &[bool], e: usize) -> bool {
        !self.is_unknown(hidden, e)
    }

    /// Must this entry stay unknown? Hidden published entries always; derived ones when small.
    fn must_stay_unknown(&self, hidden: &[bool], e: usize) -> bool {
        let entry = self.entry(e);
        if entry.published {
            hidden.get(e).copied().unwrap_or(false)
        } else {
            is_small(u128::from(entry.value), self.threshold)
        }
    }

    /// Primary suppression: small counts, and parts whose complement in a line is small.
    fn primary(&self) -> Vec<bool> {
        let mut hidden: Vec<bool> = self
            .entries
            .iter()
            .map(|e| e.published && is_small(u128::from(e.value), self.threshold))
            .collect();
        for line in &self.lines {
            let total = self.entry(line.total);
            if !total.published {
                continue;
            }
            for &p in &line.parts {
                let part = self.entry(p);
                let complement = u128::from(total.value.saturating_sub(part.value));
                if part.published
                    && part.value > 0
                    && is_small(complement, self.threshold)
                    && let Some(h) = hidden.get_mut(p)
                {
                    *h = true;
                }
            }
        }
        hidden
    }

    /// Primary suppression plus the `forced` entries, then secondary suppression. Returns
    /// which entries are hidden.
    fn protect(&self, forced: &[usize]) -> Vec<bool> {
        let mut hidden = self.primary();
        for &e in forced {
            if let Some(h) = hidden.get_mut(e)
                && self.entry(e).published
            {
                *h = true;
            }
        }
        // Every round hides one more published entry, so this bound is never the reason to stop.
        for _ in 0..=self.entries.len() {
            match self.first_violation(&hidden) {
                None => break,
                Some(Violation::SolverOverflow) => {
                    for (h, e) in hidden.iter_mut().zip(&self.entries) {
                        *h |= e.published;
                    }
                    break;
                }
                Some(violation) => {
                    let cycle = match violation {
                        Violation::Determined(x) => self.cheapest_cycle(&hidden, x),
                        _ => Vec::new(),
                    };
                    let to_hide = if cycle.is_empty() {
                        self.choose(&hidden, violation).into_iter().collect()
                    } else {
                        cycle
                    };
                    if to_hide.is_empty() {
                        break; // everything published is already hidden
                    }
                    for e in to_hide {
                        if let Some(h) = hidden.get_mut(e) {
                            *h = true;
                        }
                    }
                }
            }
        }
        hidden
    }

    /// The cheapest set of shown entries whose hiding puts the determined entry `x` on a cycle of
    /// unknown entries, or an empty list if there is none.
    ///
    /// Graph view: every line is a node and every entry an edge between the two lines it belongs
    /// to (a cell joins its row and its column; a row total joins its row and the row-total
    /// column; and so on). An unknown entry is exactly determined iff it is a bridge of the graph
    /// of unknown entries (the null space of the system is its cycle space), so closing a cycle
    /// through `x` makes it undeterminable. The search is Dijkstra from one end of `x` to the
    /// other without `x`; unknown entries cost nothing, shown ones cost, lexicographically, the
    /// number of zeros, then of margins, then the total value, then the number of entries. Ties
    /// go to the lowest line and entry positions, so the result is deterministic. The linear
    /// algebra in [`System::determined`] remains the judge: this only picks what to hide.
    fn cheapest_cycle(&self, hidden: &[bool], x: usize) -> Vec<usize> {
        type Cost = (u64, u64, u128, u64);
        let Some(&[start, goal]) = self.lines_of.get(x).map(Vec::as_slice) else {
            return Vec::new();
        };
        let nodes = self.lines.len();
        let mut best: Vec<Option<Cost>> = vec![None; nodes];
        let mut via: Vec<Option<(usize, usize)>> = vec![None; nodes];
        let mut done = vec![false; nodes];
        if let Some(slot) = best.get_mut(start) {
            *slot = Some((0, 0, 0, 0));
        }
        loop {
            let next = (0..nodes)
                .filter(|&n| !done.get(n).copied().unwrap_or(true))
                .filter_map(|n| best.get(n).copied().flatten().map(|c| (c, n)))
                .min();
            let Some((cost, node)) = next else {
                break;
            };
            if let Some(d) = done.get_mut(node) {
                *d = true;
            }
            if node == goal {
                break;
            }
            let Some(line) = self.lines.get(node) else {
                break;
            };
            let mut members: Vec<usize> = line.parts.iter().copied().chain(std::iter::once(line.total)).collect();
            members.sort_unstable();
            for e in members {
                if e == x {
                    continue;
                }
                let Some(&[a, b]) = self.lines_of.get(e).map(Vec::as_slice) else {
                    continue;
                };
                let other = if a == node { b } else { a };
                let step: Cost = if self.is_unknown(hidden, e) {
                    (0, 0, 0, 0)
                } else {
                    let entry = self.entry(e);
                    (
                        u64::from(entry.value == 0),
                        u64::from(entry.margin),
                        u128::from(entry.value),
                        1,
                    )
                };
                let candidate = (
                    cost.0.saturating_add(step.0),
                    cost.1.saturating_add(step.1),
                    cost.2.saturating_add(step.2),
                    cost.3.saturating_add(step.3),
                );
                if let (Some(slot), Some(v)) = (best.get_mut(other), via.get_mut(other))
                    && slot.is_none_or(|current| candidate < current)
                {
                    *slot = Some(candidate);
                    *v = Some((node, e));
                }
            }
        }
        if !done.get(goal).copied().unwrap_or(false) {
            return Vec::new();
        }
        let mut path = Vec::new();
        let mut node = goal;
        // A path visits each line at most once, so this walk is bounded by the number of lines.
        for _ in 0..nodes {
            let Some((previous, e)) = via.get(node).copied().flatten() else {
                break;
            };
            if self.is_shown(hidden, e) {
                path.push(e);
            }
            node = previous;
        }
        path.sort_unstable();
        path
    }

    /// The first problem, in a fixed order: determined entries by position, then line rules.
    fn first_violation(&self, hidden: &[bool]) -> Option<Violation> {
        let Some(determined) = self.determined(hidden) else {
            return Some(Violation::SolverOverflow);
        };
        let entry = (0..self.entries.len())
            .find(|&e| determined.get(e).copied().unwrap_or(false) && self.must_stay_unknown(hidden, e));
        if let Some(e) = entry {
            return Some(Violation::Determined(e));
        }
        (0..self.lines.len())
            .find(|&l| self.line_violated(hidden, l))
            .map(Violation::Line)
    }

    /// The line rules for a line whose total is shown: its hidden parts must not sum to a small
    /// value, and (when they are all published) must not be forced to all-ones or all-maximum.
    fn line_violated(&self, hidden: &[bool], l: usize) -> bool {
        let Some(line) = self.lines.get(l) else {
            return false;
        };
        if self.is_unknown(hidden, line.total) {
            return false;
        }
        let max_small = self.threshold.saturating_sub(1);
        let mut sum: u128 = 0;
        let mut count: usize = 0;
        let (mut all_published, mut all_one, mut all_max) = (true, true, true);
        for &p in &line.parts {
            if self.is_unknown(hidden, p) {
                let entry = self.entry(p);
                sum = sum.saturating_add(u128::from(entry.value));
                count += 1;
                all_published &= entry.published;
                all_one &= entry.value == 1;
                all_max &= entry.value == max_small;
            }
        }
        if count == 0 {
            return false;
        }
        let forced = all_published && count >= 2 && (all_one || all_max);
        is_small(sum, self.threshold) || forced
    }

    fn is_violated(&self, hidden: &[bool], violation: Violation) -> bool {
        match violation {
            Violation::Determined(e) => self
                .determined(hidden)
                .is_none_or(|d| d.get(e).copied().unwrap_or(false)),
            Violation::Line(l) => self.line_violated(hidden, l),
            Violation::SolverOverflow => true,
        }
    }

    /// Would hiding `e` resolve `violation` straight away?
    fn fixes(&self, hidden: &[bool], violation: Violation, e: usize) -> bool {
        let mut trial = hidden.to_vec();
        if let Some(h) = trial.get_mut(e) {
            *h = true;
        }
        !self.is_violated(&trial, violation)
    }

    /// The next entry to hide for `violation` (see the module docs for the order of preference).
    fn choose(&self, hidden: &[bool], violation: Violation) -> Option<usize> {
        let mut local: Vec<usize> = match violation {
            Violation::Determined(e) => self.lines_of.get(e).cloned().unwrap_or_default(),
            Violation::Line(l) => vec![l],
            Violation::SolverOverflow => Vec::new(),
        }
        .into_iter()
        .filter_map(|l| self.lines.get(l))
        .flat_map(|line| line.parts.iter().copied().chain(std::iter::once(line.total)))
        .filter(|&e| self.is_shown(hidden, e))
        .collect();
        local.sort_unstable();
        local.dedup();
        let global: Vec<usize> = (0..self.entries.len()).filter(|&e| self.is_shown(hidden, e)).collect();
        let order = |e: &usize| {
            let entry = self.entry(*e);
            (entry.margin, entry.value, *e)
        };
        for zero in [false, true] {
            let mut tier: Vec<usize> = local
                .iter()
                .copied()
                .filter(|&e| (self.entry(e).value == 0) == zero)
                .collect();
            tier.sort_unstable_by_key(order);
            for margin in [false, true] {
                let class: Vec<usize> = tier
                    .iter()
                    .copied()
                    .filter(|&e| self.entry(e).margin == margin)
                    .collect();
                if let Some(&first) = class.first() {
                    let fixing = class.iter().copied().find(|&e| self.fixes(hidden, violation, e));
                    return Some(fixing.unwrap_or(first));
                }
            }
            let mut tier: Vec<usize> = global
                .iter()
                .copied()
                .filter(|&e| (self.entry(e).value == 0) == zero)
                .collect();
            tier.sort_unstable_by_key(order);
            if let Some(&first) = tier.first() {
                let fixing = tier.iter().copied().find(|&e| self.fixes(hidden, violation, e));
                return Some(fixing.unwrap_or(first));
            }
        }
        None
    }

    /// For every entry: is it unknown to the reader and yet exactly computable? `None` if the
    /// exact arithmetic overflowed.
    ///
    /// Fraction-free Gauss–Jordan elimination over `i128` on the lines restricted to the unknowns
    /// (each row divided by the gcd of its entries after every step). In the fully reduced form,
    /// `e_x` is in the row space iff `x` has a pivot and its pivot row has no other non-zero
    /// entry: every other pivot column is zero in `e_x`, so no other row can take part.
    fn determined(&self, hidden: &[bool]) -> Option<Vec<bool>> {
        let unknowns: Vec<usize> = (0..self.entries.len())
            .filter(|&e| self.is_unknown(hidden, e))
            .collect();
        let mut column_of: Vec<Option<usize>> = vec![None; self.entries.len()];
        for (column, &e) in unknowns.iter().enumerate() {
            if let Some(slot) = column_of.get_mut(e) {
                *slot = Some(column);
            }
        }
        let width = unknowns.len();
        let mut rows: Vec<Vec<i128>> = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let mut row = vec![0i128; width];
            let terms = line
                .parts
                .iter()
                .map(|&p| (p, 1i128))
                .chain(std::iter::once((line.total, -1i128)));
            for (e, coefficient) in terms {
                if let Some(slot) = column_of.get(e).copied().flatten().and_then(|c| row.get_mut(c)) {
                    *slot = slot.checked_add(coefficient)?;
                }
            }
            if row.iter().any(|&v| v != 0) {
                rows.push(row);
            }
        }

        let mut pivot_row_of: Vec<Option<usize>> = vec![None; width];
        let mut rank = 0;
        for column in 0..width {
            let Some(found) =
                (rank..rows.len()).find(|&r| rows.get(r).and_then(|row| row.get(column)).is_some_and(|&v| v != 0))
            else {
                continue;
            };
            rows.swap(rank, found);
            let pivot_row = rows.get(rank)?.clone();
            let pivot = *pivot_row.get(column)?;
            for (r, row) in rows.iter_mut().enumerate() {
                let factor = row.get(column).copied().unwrap_or(0);
                if r == rank || factor == 0 {
                    continue;
                }
                for (value, &p) in row.iter_mut().zip(&pivot_row) {
                    *value = value.checked_mul(pivot)?.checked_sub(p.checked_mul(factor)?)?;
                }
                reduce_by_gcd(row);
            }
            if let Some(slot) = pivot_row_of.get_mut(column) {
                *slot = Some(rank);
            }
            rank += 1;
        }

        let mut determined = vec![false; self.entries.len()];
        for (column, &e) in unknowns.iter().enumerate() {
            let pivot_row = pivot_row_of.get(column).copied().flatten().and_then(|r| rows.get(r));
            if let (Some(row), Some(slot)) = (pivot_row, determined.get_mut(e)) {
                *slot = row.iter().filter(|&&v| v != 0).count() == 1;
            }
        }
        Some(determined)
    }
}

/// Divides a row by the gcd of its entries, keeping the numbers small.
fn reduce_by_gcd(row: &mut [i128]) {
    let g = row.iter().fold(0u128, |g, &v| gcd(g, v.unsigned_abs()));
    if g > 1
        && let Ok(g) = i128::try_from(g)
    {
        for v in row.iter_mut() {
            *v /= g;
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: &str = r#"# Disclosure control for published statistics.
min_cell = 5              # counts 1..min_cell-1 are hidden, shown as "<5"
require_reporting_consent = true   # leave out clients without reporting consent
"#;

    fn rules(min_cell: u32) -> DisclosureRules {
        DisclosureRules {
            min_cell,
            require_reporting_consent: true,
        }
    }

    fn hidden_cells(p: &ProtectedTable) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (r, row) in p.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if cell.is_suppressed() {
                    out.push((r, c));
                }
            }
        }
        out
    }

    /// Exact rational arithmetic and rank, written independently of the production solver: it
    /// compares ranks (`rank(A) == rank(A + e_x)`) instead of reading a reduced form.
    mod oracle {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        struct Q {
            num: i128,
            den: i128,
        }

        fn gcd(a: i128, b: i128) -> i128 {
            let (mut a, mut b) = (a.abs(), b.abs());
            while b != 0 {
                let t = a % b;
                a = b;
                b = t;
            }
            a
        }

        impl Q {
            fn new(num: i128, den: i128) -> Q {
                let g = gcd(num, den).max(1);
                let sign = if den < 0 { -1 } else { 1 };
                Q {
                    num: sign * num / g,
                    den: sign * den / g,
                }
            }
            fn int(v: i128) -> Q {
                Q { num: v, den: 1 }
            }
            fn is_zero(self) -> bool {
                self.num == 0
            }
            fn sub(self, o: Q) -> Q {
                Q::new(self.num * o.den - o.num * self.den, self.den * o.den)
            }
            fn mul(self, o: Q) -> Q {
                Q::new(self.num * o.num, self.den * o.den)
            }
            fn div(self, o: Q) -> Q {
                Q::new(self.num * o.den, self.den * o.num)
            }
        }

        /// Rank by plain Gaussian elimination to row echelon form over the rationals.
        pub fn rank(matrix: &[Vec<i128>]) -> usize {
            let mut m: Vec<Vec<Q>> = matrix.iter().map(|r| r.iter().map(|&v| Q::int(v)).collect()).collect();
            let width = m.first().map_or(0, Vec::len);
            let mut rank = 0;
            for col in 0..width {
                let Some(p) = (rank..m.len()).find(|&r| !m[r][col].is_zero()) else {
                    continue;
                };
                m.swap(rank, p);
                let pivot_row = m[rank].clone();
                for row in m.iter_mut().skip(rank + 1) {
                    if row[col].is_zero() {
                        continue;
                    }
                    let f = row[col].div(pivot_row[col]);
                    for (v, &p) in row.iter_mut().zip(&pivot_row).skip(col) {
                        *v = v.sub(f.mul(p));
                    }
                }
                rank += 1;
            }
            rank
        }

        /// For each unknown: is `e_x` in the row space of `equations`?
        pub fn determined(equations: &[Vec<i128>], unknowns: usize) -> Vec<bool> {
            let base = rank(equations);
            (0..unknowns)
                .map(|x| {
                    let mut m = equations.to_vec();
                    let mut unit = vec![0; unknowns];
                    unit[x] = 1;
                    m.push(unit);
                    rank(&m) == base
                })
                .collect()
        }
    }

    /// Independent check of a protected table: builds the reader's equations from scratch and
    /// returns the hidden positions (as labels) that the oracle can solve.
    fn solvable_hidden_in_table(p: &ProtectedTable) -> Vec<String> {
        let rows = p.row_totals.len();
        let cols = p.col_totals.len();
        let mut labels = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut add = |key: String, cell: Cell| {
            if cell.is_suppressed() {
                index.insert(key.clone(), labels.len());
                labels.push(key);
            }
        };
        for r in 0..rows {
            for c in 0..cols {
                add(format!("x{r},{c}"), p.cells[r][c]);
            }
            add(format!("R{r}"), p.row_totals[r]);
        }
        for c in 0..cols {
            add(format!("C{c}"), p.col_totals[c]);
        }
        add("T".to_string(), p.total);
        let n = labels.len();
        let equation = |terms: &[(String, i128)]| {
            let mut row = vec![0i128; n];
            for (key, coef) in terms {
                if let Some(&i) = index.get(key) {
                    row[i] += coef;
                }
            }
            row
        };
        let mut equations = Vec::new();
        for r in 0..rows {
            let mut t: Vec<(String, i128)> = (0..cols).map(|c| (format!("x{r},{c}"), 1)).collect();
            t.push((format!("R{r}"), -1));
            equations.push(equation(&t));
        }
        for c in 0..cols {
            let mut t: Vec<(String, i128)> = (0..rows).map(|r| (format!("x{r},{c}"), 1)).collect();
            t.push((format!("C{c}"), -1));
            equations.push(equation(&t));
        }
        let mut t: Vec<(String, i128)> = (0..rows).map(|r| (format!("R{r}"), 1)).collect();
        t.push(("T".to_string(), -1));
        equations.push(equation(&t));
        let mut t: Vec<(String, i128)> = (0..cols).map(|c| (format!("C{c}"), 1)).collect();
        t.push(("T".to_string(), -1));
        equations.push(equation(&t));
        if n == 0 {
            return Vec::new();
        }
        oracle::determined(&equations, n)
            .into_iter()
            .zip(labels)
            .filter_map(|(d, label)| d.then_some(label))
            .collect()
    }

    /// Independent check of protected rates. Unknowns: hidden cohorts/reached (rows and total)
    /// and every not-reached count. Returns labels of hidden published values that can be solved,
    /// and of small not-reached counts that can be solved.
    fn solvable_in_rates(
        rows: &[RateRow],
        total: &RateRow,
        out: &[ProtectedRate],
        out_total: &ProtectedRate,
        min_cell: u64,
    ) -> Vec<String> {
        let all_rows: Vec<RateRow> = rows.iter().copied().chain(std::iter::once(*total)).collect();
        let all_out: Vec<ProtectedRate> = out.iter().copied().chain(std::iter::once(*out_total)).collect();
        let k = rows.len();
        // (label, must stay unknown)
        let mut unknowns: Vec<(String, bool)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (i, (row, prot)) in all_rows.iter().zip(&all_out).enumerate() {
            if prot.reached.is_suppressed() {
                index.insert(format!("r{i}"), unknowns.len());
                unknowns.push((format!("r{i}"), true));
            }
            if prot.cohort.is_suppressed() {
                index.insert(format!("c{i}"), unknowns.len());
                unknowns.push((format!("c{i}"), true));
            }
            let n = row.cohort - row.reached;
            index.insert(format!("n{i}"), unknowns.len());
            unknowns.push((format!("n{i}"), (1..min_cell).contains(&n)));
        }
        let width = unknowns.len();
        let equation = |terms: &[(String, i128)]| {
            let mut row = vec![0i128; width];
            for (key, coef) in terms {
                if let Some(&i) = index.get(key) {
                    row[i] += coef;
                }
            }
            row
        };
        let mut equations = Vec::new();
        for i in 0..=k {
            equations.push(equation(&[
                (format!("r{i}"), 1),
                (format!("n{i}"), 1),
                (format!("c{i}"), -1),
            ]));
        }
        for prefix in ["r", "n", "c"] {
            let mut t: Vec<(String, i128)> = (0..k).map(|i| (format!("{prefix}{i}"), 1)).collect();
            t.push((format!("{prefix}{k}"), -1));
            equations.push(equation(&t));
        }
        oracle::determined(&equations, width)
            .into_iter()
            .zip(unknowns)
            .filter_map(|(d, (label, protect))| (d && protect).then_some(label))
            .collect()
    }

    // ---- rules -------------------------------------------------------------------------------

    #[test]
    fn parses_the_policy_file() {
        let parsed = DisclosureRules::from_toml_str(POLICY).unwrap();
        assert_eq!(parsed, DisclosureRules::default());
        assert_eq!(parsed.min_cell, 5);
        assert!(parsed.require_reporting_consent);
        let ten = DisclosureRules::from_toml_str("min_cell = 10\nrequire_reporting_consent = false").unwrap();
        assert_eq!(
            ten,
            DisclosureRules {
                min_cell: 10,
                require_reporting_consent: false
            }
        );
    }

    #[test]
    fn missing_keys_take_the_protective_defaults() {
        assert_eq!(DisclosureRules::from_toml_str("").unwrap(), DisclosureRules::default());
    }

    #[test]
    fn rejects_bad_policies() {
        for bad in ["min_cell = 1", "min_cell = 0"] {
            let err = DisclosureRules::from_toml_str(bad).unwrap_err();
            assert!(matches!(err, DisclosureError::MinCellTooSmall(_)));
            assert!(err.to_string().contains("min_cell"), "{err}");
        }
        for bad in [
            "min_cel = 5",
            "min_cell = -3",
            "min_cell = \"5\"",
            "min_cell = 5\nextra = true",
            "not toml =",
        ] {
            assert!(
                matches!(DisclosureRules::from_toml_str(bad), Err(DisclosureError::Parse(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_shipped_policy_file_matches_the_documented_one() {
        // Keeps the policy text used in these tests in step with the file in the repository,
        // when the module is compiled inside the service crate.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/disclosure.toml");
        if let Ok(text) = std::fs::read_to_string(path) {
            assert_eq!(
                DisclosureRules::from_toml_str(&text).unwrap(),
                DisclosureRules::default()
            );
        }
    }

    #[test]
    fn hand_built_rules_below_two_still_protect() {
        assert_eq!(protect_count(1, &rules(0)), Cell::Suppressed);
        assert_eq!(protect_count(2, &rules(1)), Cell::Shown(2));
    }

    // ---- cells and single counts ------------------------------------------------------------

    #[test]
    fn display_uses_the_threshold() {
        assert_eq!(Cell::Shown(12).display(5), "12");
        assert_eq!(Cell::Shown(0).display(5), "0");
        assert_eq!(Cell::Suppressed.display(5), "<5");
        assert_eq!(Cell::Suppressed.display(10), "<10");
    }

    #[test]
    fn cell_serializes_without_the_hidden_value() {
        #[derive(Serialize)]
        struct Row {
            shown: Cell,
            hidden: Cell,
        }
        let text = toml::to_string(&Row {
            shown: Cell::Shown(10),
            hidden: Cell::Suppressed,
        })
        .unwrap();
        assert!(text.contains("Shown = 10"), "{text}");
        assert!(text.contains("hidden = \"Suppressed\""), "{text}");
    }

    #[test]
    fn protect_count_hides_only_small_counts() {
        let r = DisclosureRules::default();
        assert_eq!(protect_count(0, &r), Cell::Shown(0));
        for n in 1..5 {
            assert_eq!(protect_count(n, &r), Cell::Suppressed);
        }
        assert_eq!(protect_count(5, &r), Cell::Shown(5));
        assert_eq!(protect_count(u64::MAX, &r), Cell::Shown(u64::MAX));
        assert_eq!(protect_count(9, &rules(10)), Cell::Suppressed);
        assert_eq!(protect_count(10, &rules(10)), Cell::Shown(10));
    }

    // ---- tables -----------------------------------------------------------------------------

    #[test]
    fn from_cells_computes_margins() {
        let t = CountTable::from_cells(vec![vec![1, 2, 3], vec![4, 5, 6]]);
        assert_eq!(t.row_totals, vec![6, 15]);
        assert_eq!(t.col_totals, vec![5, 7, 9]);
        assert_eq!(t.total, 21);
    }

    #[test]
    fn small_counts_hidden_zero_and_large_shown() {
        // Two hidden cells in a 2x2 block (rows 0-1, columns 0-1): undeterminable as built.
        let t = CountTable::from_cells(vec![vec![3, 20, 0], vec![20, 4, 0], vec![30, 30, 0]]);
        let p = protect_table(&t, &DisclosureRules::default());
        assert_eq!(p.cells[0][2], Cell::Shown(0));
        assert_eq!(p.col_totals[2], Cell::Shown(0));
        assert!(p.cells[0][0].is_suppressed());
        assert!(p.cells[1][1].is_suppressed());
        assert_eq!(p.cells[2][0], Cell::Shown(30));
        assert_eq!(p.total, Cell::Shown(107));
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn all_zero_table_is_shown() {
        let t = CountTable::from_cells(vec![vec![0, 0], vec![0, 0]]);
        let p = protect_table(&t, &DisclosureRules::default());
        assert!(hidden_cells(&p).is_empty());
        assert_eq!(p.total, Cell::Shown(0));
    }

    #[test]
    fn complement_rule_in_a_row_and_a_single_row_table() {
        // Row [2, 30], total 32: 2 is small; showing 30 next to 32 reveals the 2. The column
        // totals equal the cells in a one-row table, so they must go too.
        let t = CountTable::from_cells(vec![vec![2, 30]]);
        let p = protect_table(&t, &DisclosureRules::default());
        assert_eq!(p.cells, vec![vec![Cell::Suppressed, Cell::Suppressed]]);
        assert_eq!(p.col_totals, vec![Cell::Suppressed, Cell::Suppressed]);
        assert_eq!(p.row_totals, vec![Cell::Shown(32)]);
        assert_eq!(p.total, Cell::Shown(32));
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn complement_pair_is_primary() {
        // 100 of a row total of 102: the complement 2 is small, so 100 is hidden by the primary
        // rule itself (not only by secondary suppression).
        let t = CountTable::from_cells(vec![vec![100, 2], vec![50, 50]]);
        // Column 1 holds the 2 as well, so its other cell is the part of a small complement too.
        let system = table_system(&t, 5);
        let hidden = system.primary();
        assert_eq!(&hidden[..4], &[true, true, false, true]);
    }

    #[test]
    fn single_hidden_cell_in_a_row_forces_a_second() {
        // Row 0 has one small cell; everything else is large.
        let t = CountTable::from_cells(vec![vec![3, 40, 50], vec![30, 40, 50], vec![30, 40, 50]]);
        let p = protect_table(&t, &DisclosureRules::default());
        let hidden = hidden_cells(&p);
        // The cheapest rectangle through (0,0): (0,1) and (1,1) cost 40 each, (1,0) costs 30.
        assert_eq!(hidden, vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        for r in 0..3 {
            let n = p.cells[r].iter().filter(|c| c.is_suppressed()).count();
            assert_ne!(n, 1, "row {r} has exactly one hidden cell");
        }
        for c in 0..3 {
            let n = (0..3).filter(|&r| p.cells[r][c].is_suppressed()).count();
            assert_ne!(n, 1, "column {c} has exactly one hidden cell");
        }
        assert!(p.row_totals.iter().all(|c| !c.is_suppressed()));
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn a_hidden_two_by_two_block_with_all_margins_shown_is_not_solvable() {
        // Primary hides (0,0)=2 and (1,1)=3; secondary completes the block with (0,1) and (1,0).
        let t = CountTable::from_cells(vec![vec![2, 10, 20], vec![10, 3, 20], vec![20, 20, 20]]);
        let p = protect_table(&t, &DisclosureRules::default());
        assert_eq!(hidden_cells(&p), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert!(p.row_totals.iter().chain(&p.col_totals).all(|c| !c.is_suppressed()));
        assert_eq!(p.total, Cell::Shown(125));
        // x00 + x01 = 12, x10 + x11 = 13, x00 + x10 = 12, x01 + x11 = 13: one free parameter.
        assert!(solvable_hidden_in_table(&p).is_empty());
        let system = table_system(&t, 5);
        let mut hidden = vec![false; system.entries.len()];
        for e in [0, 1, 3, 4] {
            hidden[e] = true;
        }
        let determined = system.determined(&hidden).unwrap();
        assert!(determined.iter().all(|d| !d));
    }

    #[test]
    fn cells_solvable_without_any_lone_hidden_cell_lead_to_more_suppression() {
        // Primary hides two 2x2 blocks joined by one cell (1,2). No row or column has exactly
        // one hidden cell, yet (1,2) = row0 + row1 - col0 - col1 (hidden parts) is determined.
        let t = CountTable::from_cells(vec![
            vec![3, 4, 50, 50],
            vec![4, 3, 2, 50],
            vec![50, 50, 3, 4],
            vec![50, 50, 4, 3],
        ]);
        let system = table_system(&t, 5);
        let primary = system.primary();
        let layout = TableLayout::of(&t);
        let primary_cells: Vec<(usize, usize)> = (0..4)
            .flat_map(|r| (0..4).map(move |c| (r, c)))
            .filter(|&(r, c)| primary[layout.cell(r, c)])
            .collect();
        assert_eq!(primary_cells.len(), 9);
        for r in 0..4 {
            let n = (0..4).filter(|&c| primary[layout.cell(r, c)]).count();
            assert!(n >= 2, "row {r}");
        }
        let determined = system.determined(&primary).unwrap();
        let solvable: Vec<usize> = (0..determined.len()).filter(|&e| determined[e]).collect();
        assert_eq!(solvable, vec![layout.cell(1, 2)]);

        let p = protect_table(&t, &DisclosureRules::default());
        assert!(hidden_cells(&p).len() > 9, "{:?}", hidden_cells(&p));
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn hidden_group_summing_to_all_ones_or_all_max_is_protected() {
        // Five 1s with a shown total of 5 would reveal every cell (zeros are always shown).
        let ones = protect_table(
            &CountTable::from_cells(vec![vec![1, 1, 1, 1, 1]]),
            &DisclosureRules::default(),
        );
        assert_eq!(ones.row_totals, vec![Cell::Suppressed]);
        assert_eq!(ones.total, Cell::Suppressed);
        // Two cells shown as "<5" with a shown total of 8 must both be 4.
        let fours = CountTable::from_cells(vec![vec![4, 4, 60], vec![30, 30, 30], vec![30, 30, 30]]);
        let p = protect_table(&fours, &DisclosureRules::default());
        let row0_hidden = p.cells[0].iter().filter(|c| c.is_suppressed()).count();
        assert!(row0_hidden == 3 || p.row_totals[0].is_suppressed(), "{p:?}");
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn small_hidden_group_in_a_line_is_protected() {
        // Row 0: 2 + 2 hidden, total 114 shown, 50 and 60 shown would reveal "4 people here".
        let t = CountTable::from_cells(vec![vec![2, 2, 50, 60], vec![40, 40, 40, 40], vec![40, 40, 40, 40]]);
        let p = protect_table(&t, &DisclosureRules::default());
        let hidden_sum: u64 = t.cells[0]
            .iter()
            .zip(&p.cells[0])
            .filter(|(_, c)| c.is_suppressed())
            .map(|(v, _)| *v)
            .sum();
        assert!(hidden_sum >= 5, "{p:?}");
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn small_margins_are_hidden_too() {
        let t = CountTable::from_cells(vec![vec![1, 2], vec![30, 40], vec![50, 60]]);
        let p = protect_table(&t, &DisclosureRules::default());
        assert!(p.row_totals[0].is_suppressed());
        assert!(p.cells[0].iter().all(Cell::is_suppressed));
        assert!(solvable_hidden_in_table(&p).is_empty());
    }

    #[test]
    fn tiny_and_empty_tables_do_not_panic() {
        let r = DisclosureRules::default();
        let empty = protect_table(&CountTable::from_cells(vec![]), &r);
        assert!(empty.cells.is_empty() && empty.row_totals.is_empty() && empty.col_totals.is_empty());
        assert_eq!(empty.total, Cell::Shown(0));
        let no_cols = protect_table(&CountTable::from_cells(vec![vec![], vec![]]), &r);
        assert_eq!(no_cols.row_totals, vec![Cell::Shown(0), Cell::Shown(0)]);
        let one_small = protect_table(&CountTable::from_cells(vec![vec![3]]), &r);
        assert_eq!(one_small.cells, vec![vec![Cell::Suppressed]]);
        assert_eq!(one_small.total, Cell::Suppressed);
        let one_big = protect_table(&CountTable::from_cells(vec![vec![30]]), &r);
        assert_eq!(one_big.total, Cell::Shown(30));
        let huge = protect_table(&CountTable::from_cells(vec![vec![u64::MAX, u64::MAX]]), &r);
        assert_eq!(huge.total, Cell::Suppressed, "overflowing margins are malformed");
    }

    #[test]
    fn malformed_tables_are_fully_suppressed() {
        let r = DisclosureRules::default();
        let ragged = CountTable::from_cells(vec![vec![10, 20], vec![30]]);
        let p = protect_table(&ragged, &r);
        assert_eq!(p.cells, vec![vec![Cell::Suppressed; 2], vec![Cell::Suppressed]]);
        assert_eq!(p.total, Cell::Suppressed);
        let mut wrong = CountTable::from_cells(vec![vec![10, 20], vec![30, 40]]);
        wrong.total += 1;
        let p = protect_table(&wrong, &r);
        assert!(
            p.cells
                .iter()
                .flatten()
                .chain(&p.row_totals)
                .chain(&p.col_totals)
                .all(Cell::is_suppressed)
        );
        let mut short = CountTable::from_cells(vec![vec![10, 20], vec![30, 40]]);
        short.row_totals.pop();
        assert_eq!(protect_table(&short, &r).row_totals, vec![Cell::Suppressed]);
    }

    // ---- rates ------------------------------------------------------------------------------

    fn rr(cohort: u64, reached: u64) -> RateRow {
        RateRow { cohort, reached }
    }

    fn total_of(rows: &[RateRow]) -> RateRow {
        rr(
            rows.iter().map(|r| r.cohort).sum(),
            rows.iter().map(|r| r.reached).sum(),
        )
    }

    #[test]
    fn rates_small_part_and_small_complement() {
        let rows = [rr(40, 3), rr(50, 47), rr(60, 30), rr(70, 35)];
        let total = total_of(&rows);
        let (out, tot) = protect_rates(&rows, &total, &DisclosureRules::default());
        // Small reached: hidden, rate hidden, cohort shown.
        assert_eq!(out[0].reached, Cell::Suppressed);
        assert_eq!(out[0].cohort, Cell::Shown(40));
        assert_eq!(out[0].rate, None);
        // Small complement 50 - 47 = 3: reached hidden, rate hidden.
        assert_eq!(out[1].reached, Cell::Suppressed);
        assert_eq!(out[1].cohort, Cell::Shown(50));
        assert_eq!(out[1].rate, None);
        // The two hidden reached values protect each other (sum 50, split unknown).
        assert_eq!(out[2].rate, Some(0.5));
        assert_eq!(out[3].reached, Cell::Shown(35));
        assert_eq!(tot.cohort, Cell::Shown(220));
        assert_eq!(tot.reached, Cell::Shown(115));
        assert!(solvable_in_rates(&rows, &total, &out, &tot, 5).is_empty());
    }

    #[test]
    fn rates_single_hidden_reached_forces_a_second() {
        let rows = [rr(40, 3), rr(50, 25), rr(60, 30)];
        let total = total_of(&rows);
        let (out, tot) = protect_rates(&rows, &total, &DisclosureRules::default());
        assert_eq!(out[0].reached, Cell::Suppressed);
        assert_eq!(out[1].reached, Cell::Suppressed, "smallest other reached value");
        assert_eq!(out[2].reached, Cell::Shown(30));
        assert_eq!(out[2].rate, Some(0.5));
        assert_eq!(tot.reached, Cell::Shown(58));
        assert!(solvable_in_rates(&rows, &total, &out, &tot, 5).is_empty());
    }

    #[test]
    fn rate_total_row_is_protected() {
        let rows = [rr(3, 1), rr(2, 1)];
        let total = total_of(&rows);
        let (out, tot) = protect_rates(&rows, &total, &DisclosureRules::default());
        assert!(
            out.iter()
                .all(|r| r.cohort.is_suppressed() && r.reached.is_suppressed() && r.rate.is_none())
        );
        assert_eq!(tot.reached, Cell::Suppressed);
        assert_eq!(tot.cohort, Cell::Shown(5));
        assert_eq!(tot.rate, None);
        assert!(solvable_in_rates(&rows, &total, &out, &tot, 5).is_empty());
    }

    #[test]
    fn rate_of_a_zero_cohort_is_not_shown() {
        let rows = [rr(0, 0), rr(20, 10)];
        let (out, tot) = protect_rates(&rows, &total_of(&rows), &DisclosureRules::default());
        assert_eq!(out[0].cohort, Cell::Shown(0));
        assert_eq!(out[0].rate, None);
        assert_eq!(out[1].rate, Some(0.5));
        assert_eq!(tot.rate, Some(0.5));
    }

    #[test]
    fn malformed_or_empty_rates() {
        let r = DisclosureRules::default();
        let (out, tot) = protect_rates(&[], &rr(0, 0), &r);
        assert!(out.is_empty());
        assert_eq!(tot.cohort, Cell::Shown(0));
        let (out, tot) = protect_rates(&[], &rr(10, 5), &r);
        assert!(out.is_empty());
        assert_eq!(tot, ProtectedRate::suppressed());
        let (out, _) = protect_rates(&[rr(10, 11)], &rr(10, 11), &r);
        assert_eq!(out, vec![ProtectedRate::suppressed()]);
        let (out, tot) = protect_rates(&[rr(10, 5), rr(20, 5)], &rr(31, 10), &r);
        assert!(out.iter().all(|p| *p == ProtectedRate::suppressed()));
        assert_eq!(tot, ProtectedRate::suppressed());
        let (out, _) = protect_rates(&[rr(u64::MAX, 1), rr(u64::MAX, 1)], &rr(u64::MAX, 2), &r);
        assert_eq!(out.len(), 2);
    }

    // ---- properties -------------------------------------------------------------------------

    fn count() -> impl Strategy<Value = u64> {
        prop_oneof![4 => 0u64..5, 3 => 0u64..12, 2 => 0u64..41]
    }

    fn table() -> impl Strategy<Value = CountTable> {
        (1usize..6, 1usize..6)
            .prop_flat_map(|(r, c)| proptest::collection::vec(proptest::collection::vec(count(), c), r))
            .prop_map(CountTable::from_cells)
    }

    fn min_cell() -> impl Strategy<Value = u32> {
        prop_oneof![4 => Just(5u32), 1 => Just(2u32), 1 => Just(3u32), 1 => Just(10u32)]
    }

    fn rate_rows() -> impl Strategy<Value = Vec<RateRow>> {
        proptest::collection::vec(count().prop_flat_map(|c| (Just(c), 0..=c)), 0..6)
            .prop_map(|v| v.into_iter().map(|(cohort, reached)| rr(cohort, reached)).collect())
    }

    fn small(v: u64, m: u32) -> bool {
        v >= 1 && v < u64::from(m)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn table_properties(t in table(), m in min_cell()) {
            let r = rules(m);
            let p = protect_table(&t, &r);
            // Same shape, and every shown value is the true one and not small.
            prop_assert_eq!(p.cells.len(), t.cells.len());
            let pairs = t.cells.iter().flatten().zip(p.cells.iter().flatten())
                .chain(t.row_totals.iter().zip(&p.row_totals))
                .chain(t.col_totals.iter().zip(&p.col_totals))
                .chain(std::iter::once((&t.total, &p.total)));
            for (truth, cell) in pairs {
                if let Cell::Shown(v) = cell {
                    prop_assert_eq!(v, truth);
                    prop_assert!(!small(*v, m), "small value {} shown", v);
                }
            }
            // Shown margins equal the true sums.
            for (row, cell) in t.cells.iter().zip(&p.row_totals) {
                if let Some(v) = cell.shown() { prop_assert_eq!(v, row.iter().sum::<u64>()); }
            }
            for (c, cell) in p.col_totals.iter().enumerate() {
                if let Some(v) = cell.shown() { prop_assert_eq!(v, t.cells.iter().map(|row| row[c]).sum::<u64>()); }
            }
            if let Some(v) = p.total.shown() { prop_assert_eq!(v, t.cells.iter().flatten().sum::<u64>()); }
            // Nothing hidden can be solved exactly.
            let solvable = solvable_hidden_in_table(&p);
            prop_assert!(solvable.is_empty(), "solvable: {:?}\n{:?}\n{:?}", solvable, t, p);
            // Complements and hidden groups in a line with a shown total are not small.
            let rows = p.row_totals.len();
            let cols = p.col_totals.len();
            type Parts = Vec<(Cell, u64)>;
            let mut lines: Vec<(Cell, u64, Parts)> = Vec::new();
            for r_ in 0..rows {
                lines.push((p.row_totals[r_], t.row_totals[r_], (0..cols).map(|c| (p.cells[r_][c], t.cells[r_][c])).collect()));
            }
            for c in 0..cols {
                lines.push((p.col_totals[c], t.col_totals[c], (0..rows).map(|r_| (p.cells[r_][c], t.cells[r_][c])).collect()));
            }
            lines.push((p.total, t.total, p.row_totals.iter().copied().zip(t.row_totals.iter().copied()).collect()));
            lines.push((p.total, t.total, p.col_totals.iter().copied().zip(t.col_totals.iter().copied()).collect()));
            for (total_cell, total, parts) in &lines {
                if total_cell.is_suppressed() { continue; }
                for (cell, v) in parts {
                    if !cell.is_suppressed() {
                        prop_assert!(!small(total - v, m), "complement {} of {} shown", total - v, v);
                    }
                }
                let hidden_sum: u64 = parts.iter().filter(|(c, _)| c.is_suppressed()).map(|(_, v)| v).sum();
                prop_assert!(!small(hidden_sum, m), "hidden group of {} revealed", hidden_sum);
            }
            // Deterministic.
            prop_assert_eq!(protect_table(&t.clone(), &r), p);
        }

        #[test]
        fn rate_properties(rows in rate_rows(), m in min_cell()) {
            let r = rules(m);
            let total = total_of(&rows);
            let (out, tot) = protect_rates(&rows, &total, &r);
            prop_assert_eq!(out.len(), rows.len());
            for (row, prot) in rows.iter().chain(std::iter::once(&total)).zip(out.iter().chain(std::iter::once(&tot))) {
                if let Some(c) = prot.cohort.shown() {
                    prop_assert_eq!(c, row.cohort);
                    prop_assert!(!small(c, m));
                }
                if let Some(v) = prot.reached.shown() {
                    prop_assert_eq!(v, row.reached);
                    prop_assert!(!small(v, m));
                }
                match (prot.cohort, prot.reached) {
                    (Cell::Shown(c), Cell::Shown(v)) => {
                        prop_assert!(!small(c - v, m), "complement {} shown", c - v);
                        if c > 0 {
                            prop_assert_eq!(prot.rate, Some(v as f64 / c as f64));
                        } else {
                            prop_assert_eq!(prot.rate, None);
                        }
                    }
                    _ => prop_assert_eq!(prot.rate, None),
                }
            }
            // No hidden count and no small not-reached count can be solved exactly.
            let solvable = solvable_in_rates(&rows, &total, &out, &tot, u64::from(m));
            prop_assert!(solvable.is_empty(), "solvable: {:?}\n{:?}\n{:?} {:?}", solvable, rows, out, tot);
            // Deterministic.
            let again = protect_rates(&rows, &total, &r);
            prop_assert_eq!(again, (out, tot));
        }
    }
}
