//! A release as a file for the six-monthly or yearly report to the department that
//! receives it at the period's end ([`crate::addressees`]): CSV (UTF-8 with a byte-order mark, so spreadsheet programs
//! show Vietnamese correctly) and XLSX, with Vietnamese headings, the period, the rules, the
//! audit head and a legend for suppressed cells. Both are built from one sheet model, so they
//! hold the same cells.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

use super::api::Format as FileFormat;
use super::release::{Count, Release};
use crate::addressees::Addressees;
use crate::error::{Error, Internal};
use crate::web::Lang;

/// The rate of a group without anyone in it.
pub const NO_RATE: &str = "–";

/// One cell of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Empty,
    Text(String),
    /// A section or column heading.
    Heading(String),
    Int(u64),
    /// A fraction in `0..=1`, shown as a percentage.
    Rate(f64),
}

impl Item {
    fn count(c: &Count) -> Self {
        match c {
            Count::Shown(n) => Self::Int(*n),
            Count::Hidden(s) => Self::Text(s.clone()),
        }
    }

    /// The rate; "–" when there is nobody to count, "not shown" when it is hidden.
    fn rate(r: Option<f64>, cohort: &Count, lang: Lang) -> Self {
        match (r, cohort) {
            (Some(r), _) => Self::Rate(r),
            (None, Count::Shown(0)) => Self::Text(NO_RATE.to_owned()),
            (None, _) => Self::Text(lang.t("stats-rate-hidden")),
        }
    }
}

/// `62,5 %` in Vietnamese, `62.5 %` in English.
pub fn percent(rate: f64, lang: Lang) -> String {
    let text = format!("{:.1} %", rate * 100.0);
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}

/// The report as rows of cells with headings in `lang` (the department report is Vietnamese;
/// category and area names are the Vietnamese names stored with the release).
pub fn sheet(release: &Release, addressees: &Addressees, lang: Lang) -> Vec<Vec<Item>> {
    let t = |id: &str| lang.t(id);
    let text = |s: &str| Item::Text(s.to_owned());
    let head = |id: &str| Item::Heading(lang.t(id));
    let mut rows: Vec<Vec<Item>> = Vec::new();
    rows.push(vec![head("stats-report-title")]);
    rows.push(vec![Item::Text(t("stats-recipient")), text(&addressees.recipient)]);
    rows.push(vec![Item::Text(t("stats-programme-owner")), text(&addressees.owner)]);
    rows.push(vec![
        Item::Text(t("stats-period")),
        Item::Text(format!(
            "{} ({} – {})",
            release.period, release.period_from, release.period_to
        )),
    ]);
    rows.push(vec![
        Item::Text(t("stats-version")),
        Item::Int(release.version.unsigned_abs()),
    ]);
    rows.push(vec![Item::Text(t("stats-published-at")), text(&release.published_at)]);
    if let Some(reason) = &release.reason {
        rows.push(vec![Item::Text(t("stats-reason")), text(reason)]);
    }
    rows.push(vec![
        Item::Text(t("stats-min-cell")),
        Item::Int(u64::from(release.min_cell)),
    ]);
    rows.push(vec![
        Item::Text(t("stats-consent-rule")),
        Item::Text(t(if release.require_reporting_consent {
            "stats-yes"
        } else {
            "stats-no"
        })),
    ]);
    rows.push(vec![Item::Text(t("stats-rules")), Item::Text(t("stats-rules-text"))]);
    rows.push(vec![Item::Text(t("stats-audit-head")), text(&release.audit_head)]);
    rows.push(vec![
        Item::Text(t("stats-legend")),
        Item::Text(format!("“<{}”: {}", release.min_cell, t("stats-suppressed-explained"))),
    ]);
    rows.push(vec![]);

    rows.push(vec![head("stats-indicator")]);
    rows.push(vec![
        Item::Empty,
        head("stats-cohort"),
        head("stats-reached"),
        head("stats-rate"),
        head("stats-target"),
    ]);
    rows.push(vec![
        Item::Text(t("stats-province")),
        Item::count(&release.indicator.cohort),
        Item::count(&release.indicator.reached),
        Item::rate(release.indicator.rate, &release.indicator.cohort, lang),
        Item::Rate(release.indicator.target),
    ]);
    rows.push(vec![]);

    rows.push(vec![head("stats-by-area")]);
    rows.push(vec![
        head("stats-area-code"),
        head("stats-area"),
        head("stats-cohort"),
        head("stats-reached"),
        head("stats-rate"),
    ]);
    let area_lines = |rows: &mut Vec<Vec<Item>>, table: &[super::release::AreaRow]| {
        for row in table {
            let name = row.area_name.clone().unwrap_or_else(|| t("stats-area-other"));
            rows.push(vec![
                text(&row.area),
                Item::Text(name),
                Item::count(&row.cohort),
                Item::count(&row.reached),
                Item::rate(row.rate, &row.cohort, lang),
            ]);
        }
        rows.push(vec![]);
    };
    area_lines(&mut rows, &release.by_area);
    if !release.by_former_area.is_empty() {
        rows.push(vec![head("stats-by-former-area")]);
        rows.push(vec![
            head("stats-area-code"),
            head("stats-area"),
            head("stats-cohort"),
            head("stats-reached"),
            head("stats-rate"),
        ]);
        area_lines(&mut rows, &release.by_former_area);
    }

    rows.push(vec![head("stats-by-category")]);
    rows.push(vec![
        head("stats-category"),
        head("stats-cohort"),
        head("stats-reached"),
        head("stats-rate"),
    ]);
    for row in &release.by_category {
        rows.push(vec![
            Item::Text(row.category_name.clone()),
            Item::count(&row.cohort),
            Item::count(&row.reached),
            Item::rate(row.rate, &row.cohort, lang),
        ]);
    }
    rows.push(vec![]);

    rows.push(vec![
        Item::Text(t("stats-new-intakes")),
        Item::count(&release.new_intakes),
    ]);
    rows.push(vec![
        Item::Text(t("stats-active-caseload")),
        Item::count(&release.active_caseload),
    ]);
    rows.push(vec![]);

    rows.push(vec![head("stats-referrals")]);
    let mut header = vec![head("stats-category")];
    header.extend(
        release
            .referrals
            .statuses
            .iter()
            .map(|s| Item::Heading(lang.t(&format!("stats-status-{s}")))),
    );
    header.push(head("stats-total"));
    rows.push(header);
    for row in &release.referrals.rows {
        let mut line = vec![Item::Text(row.category_name.clone())];
        line.extend(row.counts.iter().map(Item::count));
        line.push(Item::count(&row.total));
        rows.push(line);
    }
    let mut totals = vec![Item::Heading(t("stats-total"))];
    totals.extend(release.referrals.totals.iter().map(Item::count));
    totals.push(Item::count(&release.referrals.total));
    rows.push(totals);
    rows.push(vec![]);

    rows.push(vec![head("stats-support")]);
    rows.push(vec![
        Item::Text(t("stats-support-contacts")),
        Item::count(&release.support.contacts),
    ]);
    rows.push(vec![
        Item::Text(t("stats-support-clients")),
        Item::count(&release.support.clients),
    ]);
    rows
}

fn cell_text(item: &Item, lang: Lang) -> String {
    match item {
        Item::Empty => String::new(),
        Item::Text(s) | Item::Heading(s) => s.clone(),
        Item::Int(n) => n.to_string(),
        Item::Rate(r) => percent(*r, lang),
    }
}

/// Text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, return at the
/// start) gets a leading apostrophe, so a name or reason typed by a user cannot run as one
/// when the CSV is opened. (The XLSX writes such cells as strings, never formulas.)
fn defuse(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

pub fn csv(rows: &[Vec<Item>], lang: Lang) -> Result<Vec<u8>, csv::Error> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(1);
    let mut writer = csv::WriterBuilder::new().flexible(false).from_writer(Vec::new());
    for row in rows {
        let mut record: Vec<String> = row.iter().map(|i| defuse(cell_text(i, lang))).collect();
        record.resize(width, String::new());
        writer.write_record(&record)?;
    }
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend(writer.into_inner().map_err(|e| e.into_error())?);
    Ok(out)
}

pub fn xlsx(rows: &[Vec<Item>], sheet_name: &str) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    let rate = Format::new().set_num_format("0.0%");
    let right = Format::new().set_align(FormatAlign::Right);
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, item) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
            match item {
                Item::Empty => {}
                Item::Heading(s) => {
                    sheet.write_string_with_format(r, c, s, &bold)?;
                }
                Item::Text(s) if s.starts_with('<') => {
                    sheet.write_string_with_format(r, c, s, &right)?;
                }
                Item::Text(s) => {
                    sheet.write_string(r, c, s)?;
                }
                #[allow(clippy::cast_precision_loss)] // counts far below 2^52
                Item::Int(n) => {
                    sheet.write_number(r, c, *n as f64)?;
                }
                Item::Rate(x) => {
                    sheet.write_number_with_format(r, c, *x, &rate)?;
                }
            }
        }
    }
    sheet.set_column_width(0, 40)?;
    for c in 1..9 {
        sheet.set_column_width(c, 16)?;
    }
    workbook.save_to_buffer()
}

/// A release as a file to download.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub ext: &'static str,
}

/// The file for `format` (404 for JSON, which is not a file).
pub fn file(release: &Release, addressees: &Addressees, format: FileFormat) -> Result<ExportFile, Error> {
    let lang = Lang::Vi;
    let rows = sheet(release, addressees, lang);
    let (bytes, content_type, ext) = match format {
        FileFormat::Csv => (
            csv(&rows, lang).map_err(|e| Error::Internal(Internal::Export(e.to_string())))?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        FileFormat::Xlsx => (
            xlsx(&rows, &lang.t("stats-sheet-name")).map_err(|e| Error::Internal(Internal::Export(e.to_string())))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        FileFormat::Json => return Err(Error::NotFound),
    };
    Ok(ExportFile {
        bytes,
        content_type,
        ext,
    })
}

/// The download response, named after the release's period and version.
pub fn response(file: ExportFile, release: &Release) -> Response {
    let period: String = release
        .period
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let disposition = format!(
        "attachment; filename=\"hoanhap-{period}-v{}.{}\"",
        release.version, file.ext
    );
    let mut response = (StatusCode::OK, file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_be_formulas() {
        let rows = vec![vec![
            Item::Text("=HYPERLINK(\"http://x\")".into()),
            Item::Text("<5".into()),
            Item::Int(7),
            Item::Rate(0.615),
        ]];
        let text = String::from_utf8(csv(&rows, Lang::Vi).unwrap()).unwrap();
        assert_eq!(text, "\u{feff}\"'=HYPERLINK(\"\"http://x\"\")\",<5,7,\"61,5 %\"\n");
        let text = String::from_utf8(csv(&rows, Lang::En).unwrap()).unwrap();
        assert!(text.ends_with(",<5,7,61.5 %\n"));
    }

    #[test]
    fn percentages_follow_the_language() {
        assert_eq!(percent(0.6, Lang::Vi), "60,0 %");
        assert_eq!(percent(0.6, Lang::En), "60.0 %");
    }
}
