//! Reads uploaded recipient spreadsheets (xlsx or CSV in UTF-8/GBK) row by row, so an upload
//! never has to fit in memory; validating what the rows say is the caller's job.
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};
use encoding_rs_io::DecodeReaderBytesBuilder;

pub const MAX_BYTES: u64 = 20 * 1024 * 1024;
/// Data rows (non-empty rows after the header); more than this is treated as hostile.
pub const MAX_ROWS: u32 = 200_000;
/// Longer values are cut here rather than rejected: every field has a far smaller limit in the
/// caller's validation, which then reports the row with a useful message.
pub const MAX_FIELD_CHARS: usize = 1000;
/// What an xlsx may inflate to, as declared by its zip directory. The zip reader refuses to
/// inflate an entry past its declared size and calamine keeps all shared strings in memory, so
/// without this a 20 MB zip bomb could take gigabytes.
pub const MAX_UNZIPPED_BYTES: u64 = 256 * 1024 * 1024;
/// calamine builds a full style object (fonts, fills, borders) for each tiny `<xf/>` element of
/// `styles.xml`, so that part gets its own, much smaller budget. Real workbooks stay far below:
/// Excel itself allows 64 000 cell formats.
const MAX_STYLES_BYTES: u64 = 8 * 1024 * 1024;

/// Enough text to tell UTF-8 from GBK with certainty in practice.
const SNIFF_BYTES: usize = 64 * 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const NOT_XLSX: &str = "不是有效的 xlsx 文件";

/// The recipient sheet's columns; `as usize` indexes [`SheetRow::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    CategoryCode,
    Kind,
    Name,
    IdNumber,
    Phone,
    BankName,
    BankAccount,
    NominatedBy,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::CategoryCode,
        Column::Kind,
        Column::Name,
        Column::IdNumber,
        Column::Phone,
        Column::BankName,
        Column::BankAccount,
        Column::NominatedBy,
    ];

    /// The header as the Chinese template spells it; also what error messages name.
    pub fn label(self) -> &'static str {
        self.chinese_headers()[0]
    }

    /// The English header (accepted in any letter case).
    pub fn key(self) -> &'static str {
        match self {
            Column::CategoryCode => "category_code",
            Column::Kind => "kind",
            Column::Name => "name",
            Column::IdNumber => "id_number",
            Column::Phone => "phone",
            Column::BankName => "bank_name",
            Column::BankAccount => "bank_account",
            Column::NominatedBy => "nominated_by",
        }
    }

    pub fn is_required(self) -> bool {
        matches!(
            self,
            Column::CategoryCode | Column::Kind | Column::Name | Column::NominatedBy
        )
    }

    /// Canonical name first; the rest are what people type when they make the sheet by hand.
    fn chinese_headers(self) -> &'static [&'static str] {
        match self {
            Column::CategoryCode => &["类别编码", "类别"],
            Column::Kind => &["类型"],
            Column::Name => &["姓名"],
            Column::IdNumber => &["身份证号", "身份证号码"],
            Column::Phone => &["手机号", "手机号码", "联系电话"],
            Column::BankName => &["开户行"],
            Column::BankAccount => &["银行账号", "银行卡号", "银行账户"],
            Column::NominatedBy => &["推荐单位"],
        }
    }

    /// Which column a header cell names. Spaces and hyphens count as underscores so that
    /// "Category Code" works; a trailing asterisk (templates mark required columns so) is ignored.
    fn from_header(text: &str) -> Option<Column> {
        let text = text.trim();
        let text = text.trim_end_matches(['*', '＊']).trim_end();
        let english: String = text
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Column::ALL
            .into_iter()
            .find(|c| c.key() == english || c.chinese_headers().contains(&text))
    }
}

/// One data row. Rows whose recognised columns are all empty are never produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// The row number the user sees in Excel (header = 1 when it is the first row). For CSV this
    /// counts records and blank lines, not physical lines: a quoted value spanning lines is still
    /// one row, as Excel shows it.
    pub row: u32,
    /// Indexed by `Column as usize`; trimmed, empty = `None`, at most [`MAX_FIELD_CHARS`] chars.
    pub values: [Option<String>; 8],
}

impl SheetRow {
    pub fn get(&self, c: Column) -> Option<&str> {
        self.values[c as usize].as_deref()
    }
}

/// What is wrong with the file itself. Messages are shown to users as they are, so they carry
/// neither paths nor cell contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("文件过大：最多 20 MB、200000 行数据")]
    TooLarge,
    #[error("无法识别的文件格式，请上传 xlsx 或 CSV 文件")]
    UnknownFormat,
    #[error("文件无法读取：{0}")]
    Unreadable(String),
    /// Chinese labels of the missing required columns, in [`Column`] order.
    #[error("缺少必需的列：{}", .0.join("、"))]
    MissingHeader(Vec<&'static str>),
    #[error("文件中没有数据")]
    Empty,
}

/// Either the file was bad or the caller's `on_row` stopped the read with its own error.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error("{0}")]
    Callback(E),
}

/// Reads the upload at `path` (xlsx if it starts like a zip, otherwise CSV), calling `on_row`
/// for each non-empty data row in order. Returns how many rows were passed to `on_row`.
///
/// Blocking I/O: call it from `spawn_blocking` in async code. Errors can come after some rows
/// were already delivered (a bad row late in the file, [`MAX_ROWS`] exceeded), so callers must
/// treat the rows as provisional until this returns `Ok`. A sheet with a header but no data is
/// [`SheetError::Empty`].
pub fn read_file<E>(path: &Path, on_row: impl FnMut(SheetRow) -> Result<(), E>) -> Result<u32, ReadError<E>> {
    let file = File::open(path).map_err(|e| io_error(e, "无法打开文件"))?;
    // The handle's metadata, not the path's: it is the file we will actually read.
    let len = file.metadata().map_err(|e| io_error(e, "无法打开文件"))?.len();
    if len > MAX_BYTES {
        return Err(SheetError::TooLarge.into());
    }
    read_source(BufReader::new(file), len, on_row)
}

/// [`read_file`] for an upload already in memory.
pub fn read_bytes<E>(
    bytes: &[u8],
    on_row: impl FnMut(SheetRow) -> Result<(), E>,
) -> Result<u32, ReadError<E>> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(SheetError::TooLarge.into());
    }
    read_source(Cursor::new(bytes), bytes.len() as u64, on_row)
}

fn read_source<R: Read + Seek, E>(
    mut source: R,
    len: u64,
    on_row: impl FnMut(SheetRow) -> Result<(), E>,
) -> Result<u32, ReadError<E>> {
    let format = sniff(&mut source)?;
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| io_error(e, "读取文件失败"))?;
    let mut rows = Rows::new(on_row);
    match format {
        Format::Xlsx => {
            let sizes = unzipped_sizes(&mut source, len)?;
            if sizes.total > MAX_UNZIPPED_BYTES || sizes.styles > MAX_STYLES_BYTES {
                return Err(SheetError::TooLarge.into());
            }
            source
                .seek(SeekFrom::Start(0))
                .map_err(|e| io_error(e, "读取文件失败"))?;
            read_xlsx(source, &mut rows)?;
        }
        Format::Csv { utf8 } => read_csv(source, utf8, &mut rows)?,
    }
    rows.finish()
}

fn io_error(e: io::Error, message: &str) -> SheetError {
    tracing::debug!(error = %e, "sheet: I/O error");
    SheetError::Unreadable(message.to_owned())
}

fn xlsx_error(e: calamine::XlsxError) -> SheetError {
    tracing::debug!(error = %e, "sheet: xlsx rejected by calamine");
    SheetError::Unreadable(NOT_XLSX.to_owned())
}

// ---- format and encoding detection ----

enum Format {
    Xlsx,
    Csv { utf8: bool },
}

fn read_up_to(r: &mut impl Read, n: usize) -> Result<Vec<u8>, SheetError> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(e, "读取文件失败"))?;
    Ok(buf)
}

/// A UTF-8 BOM means UTF-8; otherwise the text is UTF-8 if a 64 KiB window of it is, else GB18030
/// (a superset of GBK, which is what Excel on Chinese Windows writes).
fn sniff(r: &mut impl Read) -> Result<Format, SheetError> {
    let mut window = read_up_to(r, SNIFF_BYTES)?;
    if window.is_empty() {
        return Err(SheetError::Empty);
    }
    if window.starts_with(ZIP_MAGIC) {
        return Ok(Format::Xlsx);
    }
    if window.starts_with(UTF8_BOM) {
        return Ok(Format::Csv { utf8: true });
    }
    // Excel's "Unicode text" is UTF-16 and tab-separated, not CSV. Text never holds NUL; xls,
    // images and the like do.
    if window.starts_with(b"\xFF\xFE") || window.starts_with(b"\xFE\xFF") || window.contains(&0) {
        return Err(SheetError::UnknownFormat);
    }
    let mut at_end = window.len() < SNIFF_BYTES;
    // ASCII reads the same in both encodings, so a long English head (header plus rows of
    // digits) must not decide the encoding; the window starts at the first non-ASCII byte,
    // which is also the start of a character in either encoding.
    while !at_end && window.is_ascii() {
        window = read_up_to(r, SNIFF_BYTES)?;
        at_end = window.len() < SNIFF_BYTES;
    }
    let start = window.iter().position(|b| !b.is_ascii()).unwrap_or(window.len());
    window.drain(..start);
    if !at_end && start > 0 {
        let more = read_up_to(r, start)?;
        at_end = more.len() < start;
        window.extend_from_slice(&more);
    }
    let utf8 = match std::str::from_utf8(&window) {
        Ok(_) => true,
        // The window may end inside a character; only a sequence that is wrong (not merely
        // cut off) or a file that really ends there means it is not UTF-8.
        Err(e) => e.error_len().is_none() && !at_end,
    };
    Ok(Format::Csv { utf8 })
}

// ---- row assembly shared by both formats ----

/// Finds the header, maps columns and hands out finished rows.
struct Rows<F> {
    on_row: F,
    /// Sheet column index → column, once the header row has been seen (first occurrence wins
    /// when two headers name the same column).
    header: Option<Vec<(u32, Column)>>,
    /// The header candidate: recognised columns and whether the row had any text at all.
    pending: Vec<(u32, Column)>,
    pending_text: bool,
    row: u32,
    values: [Option<String>; 8],
    read: u32,
}

impl<F> Rows<F> {
    fn new(on_row: F) -> Self {
        Rows {
            on_row,
            header: None,
            pending: Vec::new(),
            pending_text: false,
            row: 0,
            values: Default::default(),
            read: 0,
        }
    }

    fn column(&self, col: u32) -> Option<Column> {
        self.header
            .as_ref()?
            .iter()
            .find(|(i, _)| *i == col)
            .map(|&(_, c)| c)
    }

    /// Lets the readers skip converting cells nobody will look at.
    fn wants(&self, col: u32) -> bool {
        self.header.is_none() || self.column(col).is_some()
    }

    fn start(&mut self, row: u32) {
        self.row = row;
        self.pending.clear();
        self.pending_text = false;
        self.values = Default::default();
    }

    /// `text` is raw cell text; it is cleaned here.
    fn cell(&mut self, col: u32, text: String) {
        let Some(text) = clean(text) else { return };
        if self.header.is_none() {
            self.pending_text = true;
            if let Some(c) = Column::from_header(&text)
                && !self.pending.iter().any(|&(_, p)| p == c)
            {
                self.pending.push((col, c));
            }
        } else if let Some(c) = self.column(col) {
            self.values[c as usize] = Some(text);
        }
    }

    fn end<E>(&mut self) -> Result<(), ReadError<E>>
    where
        F: FnMut(SheetRow) -> Result<(), E>,
    {
        if self.header.is_none() {
            if self.pending_text {
                let missing: Vec<&'static str> = Column::ALL
                    .into_iter()
                    .filter(|c| c.is_required() && !self.pending.iter().any(|&(_, p)| p == *c))
                    .map(Column::label)
                    .collect();
                if !missing.is_empty() {
                    return Err(SheetError::MissingHeader(missing).into());
                }
                self.header = Some(std::mem::take(&mut self.pending));
            }
            return Ok(());
        }
        if self.values.iter().all(Option::is_none) {
            return Ok(());
        }
        self.read += 1;
        if self.read > MAX_ROWS {
            return Err(SheetError::TooLarge.into());
        }
        let row = SheetRow {
            row: self.row,
            values: std::mem::take(&mut self.values),
        };
        (self.on_row)(row).map_err(ReadError::Callback)
    }

    fn finish<E>(self) -> Result<u32, ReadError<E>> {
        if self.header.is_none() || self.read == 0 {
            return Err(SheetError::Empty.into());
        }
        Ok(self.read)
    }
}

fn clean(text: String) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut text = if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    };
    if let Some((cut, _)) = text.char_indices().nth(MAX_FIELD_CHARS) {
        text.truncate(cut);
        text.truncate(text.trim_end().len());
    }
    Some(text)
}

// ---- CSV ----

fn read_csv<R: Read, E, F>(source: R, utf8: bool, rows: &mut Rows<F>) -> Result<(), ReadError<E>>
where
    F: FnMut(SheetRow) -> Result<(), E>,
{
    let encoding = if utf8 {
        encoding_rs::UTF_8
    } else {
        encoding_rs::GB18030
    };
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .build(source);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(LineEndings::new(decoded));
    let mut record = csv::StringRecord::new();
    // The csv crate skips blank lines silently, but Excel shows them as rows. Between two
    // records the line counter advances by the blank lines skipped, the newlines inside quoted
    // values and one terminator (every record has one, see `LineEndings`), so subtracting the
    // embedded newlines leaves exactly the rows Excel would count.
    let (mut line, mut row) = (1u64, 0u64);
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                tracing::debug!(error = %e, "sheet: CSV unreadable");
                return Err(SheetError::Unreadable("CSV 格式错误".to_owned()).into());
            }
        }
        let now = csv.position().line();
        let embedded: u64 = record
            .iter()
            .map(|f| f.bytes().filter(|&b| b == b'\n').count() as u64)
            .sum();
        row += (now - line).saturating_sub(embedded).max(1);
        line = now;
        rows.start(u32::try_from(row).map_err(|_| SheetError::TooLarge)?);
        for (col, field) in record.iter().enumerate() {
            let col = u32::try_from(col).map_err(|_| SheetError::TooLarge)?;
            if rows.wants(col) {
                rows.cell(col, field.to_owned());
            }
        }
        rows.end()?;
    }
    Ok(())
}

/// Turns CR LF and lone CR into LF and ends the text with LF, so the csv line counter sees every
/// line break and every record has a terminator. CR and LF never occur inside a multi-byte
/// UTF-8 sequence, so working on the decoded bytes is safe.
struct LineEndings<R> {
    inner: R,
    after_cr: bool,
    done: bool,
}

impl<R> LineEndings<R> {
    fn new(inner: R) -> Self {
        LineEndings {
            inner,
            after_cr: false,
            done: false,
        }
    }
}

impl<R: Read> Read for LineEndings<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.done && !buf.is_empty() {
            let n = self.inner.read(buf)?;
            if n == 0 {
                self.done = true;
                buf[0] = b'\n';
                return Ok(1);
            }
            let mut out = 0;
            for i in 0..n {
                let b = buf[i];
                if b == b'\n' && self.after_cr {
                    self.after_cr = false;
                    continue;
                }
                self.after_cr = b == b'\r';
                buf[out] = if self.after_cr { b'\n' } else { b };
                out += 1;
            }
            // A chunk holding only the LF of a split CR LF gives nothing; 0 would mean EOF.
            if out > 0 {
                return Ok(out);
            }
        }
        Ok(0)
    }
}

// ---- xlsx ----

fn read_xlsx<R: Read + Seek, E, F>(source: R, rows: &mut Rows<F>) -> Result<(), ReadError<E>>
where
    F: FnMut(SheetRow) -> Result<(), E>,
{
    let mut workbook = Xlsx::new(source).map_err(xlsx_error)?;
    // The first tab the user sees: templates often keep lookup lists on a hidden first sheet.
    let name = {
        let mut sheets = workbook
            .sheets_metadata()
            .iter()
            .filter(|s| s.typ == SheetType::WorkSheet);
        let first = sheets.clone().next();
        sheets
            .find(|s| s.visible == SheetVisible::Visible)
            .or(first)
            .map(|s| s.name.clone())
    };
    let Some(name) = name else {
        return Err(SheetError::Empty.into());
    };
    // Streams the sheet XML cell by cell; only the shared strings table stays in memory, and
    // that is bounded by MAX_UNZIPPED_BYTES.
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(xlsx_error)?;
    let mut current: Option<u32> = None;
    while let Some(cell) = cells.next_cell().map_err(xlsx_error)? {
        let (row, col) = cell.get_position();
        let row = row + 1;
        if current != Some(row) {
            if current.is_some() {
                rows.end()?;
            }
            rows.start(row);
            current = Some(row);
        }
        if rows.wants(col)
            && let Some(text) = cell_text(cell.get_value())
        {
            rows.cell(col, text);
        }
    }
    if current.is_some() {
        rows.end()?;
    }
    Ok(())
}

fn cell_text(value: &DataRef<'_>) -> Option<String> {
    match value {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Some(s.clone()),
        DataRef::SharedString(s) => Some((*s).to_owned()),
        DataRef::Int(i) => Some(i.to_string()),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => Some(b.to_string()),
        DataRef::DateTime(dt) => Some(datetime_text(dt)),
        DataRef::Error(_) | DataRef::Empty => None,
    }
}

/// Excel keeps every number as a float. `f64`'s `Display` is the shortest text that reads back
/// to the same value and never uses an exponent, so whole numbers (phone numbers, codes) come
/// out without ".0" and nothing that was stored is lost.
fn number_text(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    // -0 would print as "-0".
    Some(if f == 0.0 { "0".to_owned() } else { f.to_string() })
}

fn datetime_text(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        // Durations are fractions of a day; Excel keeps milliseconds and no more.
        let ms = (dt.as_f64() * 86_400_000.0).round() as i64;
        let sign = if ms < 0 { "-" } else { "" };
        let ms = ms.unsigned_abs();
        let s = ms / 1000;
        let frac = if ms.is_multiple_of(1000) {
            String::new()
        } else {
            format!(".{:03}", ms % 1000)
        };
        return format!("{sign}PT{}H{}M{}{frac}S", s / 3600, s / 60 % 60, s % 60);
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    match (h, mi, s, ms) {
        (0, 0, 0, 0) => format!("{y:04}-{mo:02}-{d:02}"),
        (_, _, _, 0) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"),
        _ => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}"),
    }
}

/// Uncompressed sizes as the zip's central directory declares them.
#[derive(Debug, PartialEq, Eq)]
struct ZipSizes {
    total: u64,
    /// Every entry named `styles.xml`, whatever its folder: calamine finds the part by name,
    /// folder from the package relationships and letter case ignored.
    styles: u64,
}

/// Reads [`ZipSizes`] from the central directory (see [`MAX_UNZIPPED_BYTES`]). Anything this
/// cannot parse is rejected: calamine would fail on it too.
fn unzipped_sizes<R: Read + Seek>(r: &mut R, len: u64) -> Result<ZipSizes, SheetError> {
    const END: &[u8] = b"PK\x05\x06";
    const END64: &[u8] = b"PK\x06\x06";
    const LOCATOR64: &[u8] = b"PK\x06\x07";
    const ENTRY: &[u8] = b"PK\x01\x02";
    let bad = || SheetError::Unreadable(NOT_XLSX.to_owned());
    let seek = |r: &mut R, at: u64| {
        r.seek(SeekFrom::Start(at))
            .map_err(|e| io_error(e, "读取文件失败"))
    };

    let tail_start = len.saturating_sub(22 + 0xFFFF);
    seek(r, tail_start)?;
    let tail = read_up_to(r, (len - tail_start) as usize)?;
    // The end record is the last one whose comment runs exactly to the end of the file.
    let end = (0..=tail.len().checked_sub(22).ok_or_else(bad)?)
        .rev()
        .find(|&i| tail[i..].starts_with(END) && le(&tail, i + 20, 2) == Some((tail.len() - i - 22) as u64))
        .ok_or_else(bad)?;
    let field = |at: usize, n: usize| le(&tail, end + at, n).ok_or_else(bad);
    let (mut entries, mut dir_len, mut dir_at) = (field(10, 2)?, field(12, 4)?, field(16, 4)?);
    if entries == 0xFFFF || dir_len == 0xFFFF_FFFF || dir_at == 0xFFFF_FFFF {
        let locator_at = (tail_start + end as u64).checked_sub(20).ok_or_else(bad)?;
        seek(r, locator_at)?;
        let locator = read_up_to(r, 20)?;
        if !locator.starts_with(LOCATOR64) {
            return Err(bad());
        }
        seek(r, le(&locator, 8, 8).ok_or_else(bad)?)?;
        let end64 = read_up_to(r, 56)?;
        if !end64.starts_with(END64) {
            return Err(bad());
        }
        let field = |at: usize| le(&end64, at, 8).ok_or_else(bad);
        (entries, dir_len, dir_at) = (field(32)?, field(40)?, field(48)?);
    }
    if dir_at.checked_add(dir_len).is_none_or(|e| e > len) {
        return Err(bad());
    }
    seek(r, dir_at)?;
    let dir = read_up_to(r, dir_len as usize)?;
    let (mut sizes, mut p) = (ZipSizes { total: 0, styles: 0 }, 0usize);
    for _ in 0..entries {
        if !dir.get(p..).is_some_and(|d| d.starts_with(ENTRY)) {
            return Err(bad());
        }
        let field = |at: usize, n: usize| le(&dir, p + at, n).map(|v| v as usize).ok_or_else(bad);
        let (name, extra, comment) = (field(28, 2)?, field(30, 2)?, field(32, 2)?);
        let mut size = le(&dir, p + 24, 4).ok_or_else(bad)?;
        if size == 0xFFFF_FFFF {
            let extra = dir.get(p + 46 + name..p + 46 + name + extra).ok_or_else(bad)?;
            size = zip64_size(extra).ok_or_else(bad)?;
        }
        sizes.total = sizes.total.saturating_add(size);
        let path = dir.get(p + 46..p + 46 + name).ok_or_else(bad)?;
        let file = path.rsplit(|&b| b == b'/' || b == b'\\').next().unwrap_or(path);
        if file.eq_ignore_ascii_case(b"styles.xml") {
            sizes.styles = sizes.styles.saturating_add(size);
        }
        p += 46 + name + extra + comment;
    }
    Ok(sizes)
}

/// The uncompressed size from a zip64 extra field; it comes first when the directory entry
/// defers it there.
fn zip64_size(mut extra: &[u8]) -> Option<u64> {
    while extra.len() >= 4 {
        let (id, n) = (le(extra, 0, 2)?, le(extra, 2, 2)? as usize);
        if id == 1 {
            return le(extra, 4, 8.min(n));
        }
        extra = extra.get(4 + n..)?;
    }
    None
}

/// Little-endian unsigned integer of `n` bytes at `at`, if the bytes are there.
fn le(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(n)?)?;
    Some(b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A private directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("songnuan-sheet-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read_all(path: &Path) -> Result<Vec<SheetRow>, SheetError> {
        let mut rows = Vec::new();
        let n = read_file(path, |r| {
            rows.push(r);
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| match e {
            ReadError::Sheet(e) => e,
            ReadError::Callback(never) => match never {},
        })?;
        assert_eq!(n as usize, rows.len());
        Ok(rows)
    }

    fn read_csv_text(text: &str) -> Result<Vec<SheetRow>, SheetError> {
        let dir = TempDir::new();
        read_all(&dir.write("upload.csv", text.as_bytes()))
    }

    /// Builds the expected row from (column, value) pairs.
    fn row(row: u32, cells: &[(Column, &str)]) -> SheetRow {
        let mut values: [Option<String>; 8] = Default::default();
        for &(c, v) in cells {
            values[c as usize] = Some(v.to_owned());
        }
        SheetRow { row, values }
    }

    use Column::*;

    #[test]
    fn xlsx_maps_shuffled_chinese_headers_and_keeps_real_row_numbers() {
        let dir = TempDir::new();
        let path = dir.0.join("upload.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let headers = [
            "推荐单位",
            "身份证号",
            "备注",
            "姓名",
            "类型",
            "类别编码",
            "手机号",
            "银行账号",
        ];
        for (i, h) in headers.iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        // Row 2: ID as text (as it must be), phone and category code as numbers.
        sheet.write_string(1, 0, " 市总工会 ").unwrap();
        sheet.write_string(1, 1, "110101199003074518").unwrap();
        sheet.write_string(1, 2, "不导入").unwrap();
        sheet.write_string(1, 3, "张三").unwrap();
        sheet.write_string(1, 4, "困难职工").unwrap();
        sheet.write_number(1, 5, 101).unwrap();
        sheet.write_number(1, 6, 13_800_138_000.0).unwrap();
        sheet.write_string(1, 7, "6222020200112233445").unwrap();
        // Row 3 has no cells at all, row 4 only blanks and spaces, row 5 only the unknown column.
        let plain = rust_xlsxwriter::Format::new();
        sheet.write_blank(3, 0, &plain).unwrap();
        sheet.write_string(3, 3, "   ").unwrap();
        sheet.write_string(4, 2, "合计").unwrap();
        sheet.write_string(5, 0, "区工会").unwrap();
        sheet.write_string(5, 3, "李四").unwrap();
        sheet.write_string(5, 4, "劳模").unwrap();
        sheet.write_string(5, 5, "A02").unwrap();
        book.save(&path).unwrap();

        let rows = read_all(&path).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    2,
                    &[
                        (NominatedBy, "市总工会"),
                        (IdNumber, "110101199003074518"),
                        (Name, "张三"),
                        (Kind, "困难职工"),
                        (CategoryCode, "101"),
                        (Phone, "13800138000"),
                        (BankAccount, "6222020200112233445"),
                    ]
                ),
                row(
                    6,
                    &[
                        (NominatedBy, "区工会"),
                        (Name, "李四"),
                        (Kind, "劳模"),
                        (CategoryCode, "A02")
                    ]
                ),
            ]
        );
    }

    #[test]
    fn xlsx_header_is_first_non_empty_row_of_first_visible_sheet() {
        let dir = TempDir::new();
        let path = dir.0.join("upload.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let lookup = book.add_worksheet();
        lookup.set_name("字典").unwrap();
        lookup.write_string(0, 0, "困难职工").unwrap();
        lookup.set_hidden(true);
        let sheet = book.add_worksheet();
        sheet.set_active(true);
        for (i, h) in ["Category_Code", "KIND", "Name", "Nominated_By"]
            .iter()
            .enumerate()
        {
            sheet.write_string(2, i as u16, *h).unwrap();
        }
        for (i, v) in ["101", "困难职工", "王五", "市总工会"].iter().enumerate() {
            sheet.write_string(3, i as u16, *v).unwrap();
        }
        book.save(&path).unwrap();

        let rows = read_all(&path).unwrap();
        assert_eq!(
            rows,
            vec![row(
                4,
                &[
                    (CategoryCode, "101"),
                    (Kind, "困难职工"),
                    (Name, "王五"),
                    (NominatedBy, "市总工会")
                ]
            )]
        );
    }

    #[test]
    fn xlsx_numbers_dates_and_booleans_become_text() {
        let dir = TempDir::new();
        let path = dir.0.join("upload.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let headers = [
            "category_code",
            "kind",
            "name",
            "nominated_by",
            "phone",
            "bank_name",
            "id_number",
            "bank_account",
        ];
        for (i, h) in headers.iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let datetime = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        sheet.write_number(1, 0, 2.5).unwrap();
        sheet.write_boolean(1, 1, true).unwrap();
        sheet.write_number(1, 2, -0.0).unwrap();
        let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 1, 5).unwrap();
        sheet.write_datetime_with_format(1, 3, &day, &date).unwrap();
        let moment = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 2, 29)
            .unwrap()
            .and_hms(8, 30, 15)
            .unwrap();
        sheet
            .write_datetime_with_format(1, 4, &moment, &datetime)
            .unwrap();
        sheet.write_number(1, 5, 0.1).unwrap();
        // What Excel does to an ID typed into a number cell: the last digits are gone.
        sheet.write_number(1, 6, 110101199003074518u64 as f64).unwrap();
        let hours = rust_xlsxwriter::Format::new().set_num_format("[h]:mm:ss");
        sheet
            .write_number_with_format(1, 7, 1.5 + 90.5 / 86_400.0, &hours)
            .unwrap();
        // Row 3: an error value is no value.
        sheet.write_string(2, 1, "x").unwrap();
        let div0 = rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!");
        sheet.write_formula(2, 2, div0).unwrap();
        book.save(&path).unwrap();

        let rows = read_all(&path).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    2,
                    &[
                        (CategoryCode, "2.5"),
                        (Kind, "true"),
                        (Name, "0"),
                        (NominatedBy, "2024-01-05"),
                        (Phone, "2024-02-29T08:30:15"),
                        (BankName, "0.1"),
                        (IdNumber, "110101199003074510"),
                        (BankAccount, "PT36H1M30.500S"),
                    ]
                ),
                row(3, &[(Kind, "x")]),
            ]
        );
    }

    #[test]
    fn number_text_is_exact_and_never_scientific() {
        assert_eq!(number_text(3.0).as_deref(), Some("3"));
        assert_eq!(number_text(-12.0).as_deref(), Some("-12"));
        assert_eq!(number_text(0.1).as_deref(), Some("0.1"));
        assert_eq!(number_text(1e21).as_deref(), Some("1000000000000000000000"));
        assert_eq!(number_text(1.5e-7).as_deref(), Some("0.00000015"));
        assert_eq!(number_text(-0.0).as_deref(), Some("0"));
        assert_eq!(number_text(f64::NAN), None);
    }

    const ENGLISH_HEADER: &str =
        " Nominated_By ,KIND,name,Category Code,ID_Number,phone,bank_name,bank_account,remark\r\n";

    #[test]
    fn csv_utf8_counts_rows_like_excel() {
        let text = format!(
            "{ENGLISH_HEADER}\
             市总工会,困难职工,张三,101,110101199003074518,13800138000,\"中国银行,北京分行\",6222,note\r\n\
             \r\n\
             ,,,,\r\n\
             区工会,劳模,李四,102,,,\"第一行\r\n第二行\",,\r\n\
             区工会,劳模,王五,103\r\n"
        );
        let rows = read_csv_text(&text).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    2,
                    &[
                        (NominatedBy, "市总工会"),
                        (Kind, "困难职工"),
                        (Name, "张三"),
                        (CategoryCode, "101"),
                        (IdNumber, "110101199003074518"),
                        (Phone, "13800138000"),
                        (BankName, "中国银行,北京分行"),
                        (BankAccount, "6222"),
                    ]
                ),
                row(
                    5,
                    &[
                        (NominatedBy, "区工会"),
                        (Kind, "劳模"),
                        (Name, "李四"),
                        (CategoryCode, "102"),
                        (BankName, "第一行\n第二行"),
                    ]
                ),
                // Short row: flexible records; the embedded line break above did not add a row.
                row(
                    6,
                    &[
                        (NominatedBy, "区工会"),
                        (Kind, "劳模"),
                        (Name, "王五"),
                        (CategoryCode, "103")
                    ]
                ),
            ]
        );
    }

    #[test]
    fn csv_utf8_bom_with_chinese_header_variants() {
        // The stray byte in the unknown column makes the text invalid UTF-8: only the BOM says
        // it is UTF-8 all the same.
        let text = "\u{feff}类别,类型,姓名*,推荐单位,身份证号码,联系电话,银行卡号,备注\n\
                    101,困难职工,张三,市总工会,11010119900307451X,010-12345678,6222,";
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(b"\xFF\n");
        let dir = TempDir::new();
        let rows = read_all(&dir.write("upload.csv", &bytes)).unwrap();
        assert_eq!(
            rows,
            vec![row(
                2,
                &[
                    (CategoryCode, "101"),
                    (Kind, "困难职工"),
                    (Name, "张三"),
                    (NominatedBy, "市总工会"),
                    (IdNumber, "11010119900307451X"),
                    (Phone, "010-12345678"),
                    (BankAccount, "6222"),
                ]
            )]
        );
    }

    #[test]
    fn csv_gbk_is_decoded() {
        let text =
            "类别编码,类型,姓名,推荐单位,开户行\r\n101,困难职工,张三,市总工会,\"中国工商银行,朝阳支行\"\r\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&gbk).is_err());
        let dir = TempDir::new();
        let rows = read_all(&dir.write("upload.csv", &gbk)).unwrap();
        assert_eq!(
            rows,
            vec![row(
                2,
                &[
                    (CategoryCode, "101"),
                    (Kind, "困难职工"),
                    (Name, "张三"),
                    (NominatedBy, "市总工会"),
                    (BankName, "中国工商银行,朝阳支行"),
                ]
            )]
        );
    }

    #[test]
    fn csv_gbk_after_a_long_ascii_head_is_still_gbk() {
        let mut text = String::from("category_code,kind,name,nominated_by\n");
        for _ in 0..10_000 {
            text.push_str("101,1,abcdefghij,x\n"); // 19 bytes: 190 KB of ASCII before any Chinese
        }
        text.push_str("102,2,赵六,市总工会\n");
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let dir = TempDir::new();
        let rows = read_all(&dir.write("upload.csv", &gbk)).unwrap();
        assert_eq!(rows.len(), 10_001);
        assert_eq!(
            rows[10_000],
            row(
                10_002,
                &[
                    (CategoryCode, "102"),
                    (Kind, "2"),
                    (Name, "赵六"),
                    (NominatedBy, "市总工会")
                ]
            )
        );
    }

    #[test]
    fn csv_utf8_survives_a_sniff_window_ending_inside_a_character() {
        // The window starts at the first non-ASCII byte and holds 64 KiB; with only 3-byte
        // characters from there on it ends one byte into a character.
        assert_eq!(SNIFF_BYTES % 3, 1);
        let long = "张".repeat(SNIFF_BYTES / 3 + 10);
        let text = format!("category_code,kind,nominated_by,name\n1,2,3,{long}\n");
        let rows = read_csv_text(&text).unwrap();
        assert_eq!(rows[0].get(Name), Some("张".repeat(MAX_FIELD_CHARS).as_str()));
    }

    #[test]
    fn long_values_are_capped() {
        let text = format!(
            "category_code,kind,name,nominated_by\n1,{},x,y\n",
            "k".repeat(1500)
        );
        let rows = read_csv_text(&text).unwrap();
        assert_eq!(rows[0].get(Kind).map(str::len), Some(MAX_FIELD_CHARS));
    }

    #[test]
    fn duplicate_headers_use_the_first_column() {
        let text = "类别编码,类型,姓名,推荐单位,手机号码,联系电话\n1,2,3,4,13800138000,010-1\n";
        let rows = read_csv_text(text).unwrap();
        assert_eq!(rows[0].get(Phone), Some("13800138000"));
    }

    #[test]
    fn missing_required_headers_are_named() {
        let err = read_csv_text("姓名,类型,身份证号\n张三,困难职工,1\n").unwrap_err();
        assert_eq!(err, SheetError::MissingHeader(vec!["类别编码", "推荐单位"]));
        assert_eq!(err.to_string(), "缺少必需的列：类别编码、推荐单位");
    }

    #[test]
    fn empty_files_and_header_only_files_are_empty() {
        assert_eq!(read_csv_text("").unwrap_err(), SheetError::Empty);
        assert_eq!(read_csv_text("\r\n , \r\n").unwrap_err(), SheetError::Empty);
        assert_eq!(
            read_csv_text("类别编码,类型,姓名,推荐单位\r\n,,,\r\n").unwrap_err(),
            SheetError::Empty
        );
    }

    #[test]
    fn non_spreadsheets_are_rejected() {
        let dir = TempDir::new();
        let mut junk = b"PK\x03\x04".to_vec();
        let mut x = 0x9E37_79B9u32;
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            junk.push(x as u8);
        }
        assert!(matches!(
            read_all(&dir.write("a.xlsx", &junk)),
            Err(SheetError::Unreadable(_))
        ));
        // Old .xls (an OLE container) holds NUL bytes; UTF-16 text has a BOM.
        let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0";
        assert_eq!(
            read_all(&dir.write("b.xls", xls)).unwrap_err(),
            SheetError::UnknownFormat
        );
        let utf16: Vec<u8> = "\u{feff}姓名".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            read_all(&dir.write("c.csv", &utf16)).unwrap_err(),
            SheetError::UnknownFormat
        );
    }

    #[test]
    fn oversized_files_are_rejected_before_reading() {
        let dir = TempDir::new();
        let path = dir.0.join("big.csv");
        File::create(&path).unwrap().set_len(MAX_BYTES + 1).unwrap();
        assert_eq!(read_all(&path).unwrap_err(), SheetError::TooLarge);
        let ok = dir.0.join("limit.csv");
        File::create(&ok).unwrap().set_len(MAX_BYTES).unwrap();
        // Exactly at the limit it is read (and, being all NUL, refused for its content).
        assert_eq!(read_all(&ok).unwrap_err(), SheetError::UnknownFormat);
    }

    #[test]
    fn too_many_rows_are_rejected() {
        let mut text = String::from("category_code,kind,name,nominated_by\n");
        for _ in 0..=MAX_ROWS {
            text.push_str("1,2,3,4\n");
        }
        let dir = TempDir::new();
        let path = dir.write("many.csv", text.as_bytes());
        let mut seen = 0u32;
        let err = read_file(&path, |_| {
            seen += 1;
            Ok::<(), ()>(())
        })
        .unwrap_err();
        assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)));
        assert_eq!(seen, MAX_ROWS);
    }

    /// A zip whose directory claims one (empty, stored) entry `name` of `size` bytes.
    fn zip_claiming(name: &str, size: u32) -> Vec<u8> {
        let name_len = (name.len() as u16).to_le_bytes();
        let mut z = Vec::new();
        z.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        z.extend_from_slice(&name_len);
        z.extend_from_slice(b"\0\0");
        z.extend_from_slice(name.as_bytes());
        let dir_at = z.len() as u32;
        z.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&name_len);
        z.extend_from_slice(b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        z.extend_from_slice(name.as_bytes());
        let dir_len = z.len() as u32 - dir_at;
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        z.extend_from_slice(&dir_len.to_le_bytes());
        z.extend_from_slice(&dir_at.to_le_bytes());
        z.extend_from_slice(b"\0\0");
        z
    }

    /// The same in zip64 form: sizes and directory location only in the zip64 records.
    fn zip64_claiming(size: u64) -> Vec<u8> {
        let mut z = Vec::new();
        z.extend_from_slice(b"PK\x03\x04\x2d\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0a");
        let dir_at = z.len() as u64;
        z.extend_from_slice(b"PK\x01\x02\x2d\0\x2d\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        z.extend_from_slice(&u32::MAX.to_le_bytes());
        z.extend_from_slice(b"\x01\0\x0c\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0a\x01\0\x08\0");
        z.extend_from_slice(&size.to_le_bytes());
        let dir_len = z.len() as u64 - dir_at;
        let end64_at = z.len() as u64;
        z.extend_from_slice(b"PK\x06\x06");
        z.extend_from_slice(&44u64.to_le_bytes());
        z.extend_from_slice(b"\x2d\0\x2d\0\0\0\0\0\0\0\0\0");
        for v in [1u64, 1, dir_len, dir_at] {
            z.extend_from_slice(&v.to_le_bytes());
        }
        z.extend_from_slice(b"PK\x06\x07\0\0\0\0");
        z.extend_from_slice(&end64_at.to_le_bytes());
        z.extend_from_slice(b"\x01\0\0\0");
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0");
        z
    }

    #[test]
    fn zip64_sizes_are_read_too() {
        let bomb = zip64_claiming(5 << 30);
        let sizes = unzipped_sizes(&mut Cursor::new(&bomb), bomb.len() as u64);
        assert_eq!(
            sizes,
            Ok(ZipSizes {
                total: 5 << 30,
                styles: 0
            })
        );
        let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
        assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)));
    }

    #[test]
    fn zip_bombs_are_rejected_by_declared_size() {
        let bomb = zip_claiming("xl/worksheets/sheet1.xml", 3_000_000_000);
        let sizes = unzipped_sizes(&mut Cursor::new(&bomb), bomb.len() as u64);
        assert_eq!(
            sizes,
            Ok(ZipSizes {
                total: 3_000_000_000,
                styles: 0
            })
        );
        let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
        assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)));
        // Within the limits it goes on to calamine, which finds no workbook in it.
        for (name, size) in [
            ("xl/worksheets/sheet1.xml", 200 << 20),
            ("xl/styles.xml", 8 << 20),
        ] {
            let ok = zip_claiming(name, size);
            let err = read_bytes(&ok, |_| Ok::<(), ()>(())).unwrap_err();
            assert!(
                matches!(err, ReadError::Sheet(SheetError::Unreadable(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn style_bombs_have_a_smaller_budget() {
        for name in ["xl/styles.xml", "Other\\STYLES.XML"] {
            let bomb = zip_claiming(name, (8 << 20) + 1);
            let sizes = unzipped_sizes(&mut Cursor::new(&bomb), bomb.len() as u64);
            assert_eq!(
                sizes,
                Ok(ZipSizes {
                    total: (8 << 20) + 1,
                    styles: (8 << 20) + 1
                })
            );
            let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
            assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)), "{name}");
        }
    }

    #[test]
    fn callback_error_stops_the_read() {
        let text = "类别编码,类型,姓名,推荐单位\n1,a,张三,x\n2,b,李四,x\n3,c,王五,x\n";
        let dir = TempDir::new();
        let path = dir.write("upload.csv", text.as_bytes());
        let mut seen = Vec::new();
        let err = read_file(&path, |r| {
            seen.push(r.row);
            if r.get(Name) == Some("李四") {
                return Err(format!("第{}行有误", r.row));
            }
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(&err, ReadError::Callback(m) if m == "第3行有误"));
        assert_eq!(seen, vec![2, 3]);
    }

    #[test]
    fn error_messages_are_chinese() {
        for e in [
            SheetError::TooLarge,
            SheetError::UnknownFormat,
            SheetError::Unreadable(NOT_XLSX.to_owned()),
            SheetError::Empty,
        ] {
            let m = e.to_string();
            assert!(m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{m}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Line {
            Blank,
            Record(Vec<String>),
        }

        fn line() -> impl Strategy<Value = Line> {
            prop_oneof![
                1 => Just(Line::Blank),
                4 => prop::collection::vec("[ab ,\"\r\n张]{0,5}", 4).prop_map(Line::Record),
            ]
        }

        /// What the reader should make of a raw field: line breaks normalised, then cleaned.
        fn expect(field: &str) -> Option<String> {
            clean(field.replace("\r\n", "\n").replace('\r', "\n"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]
            #[test]
            fn csv_rows_are_numbered_like_excel(lines in prop::collection::vec(line(), 1..12), crlf: bool, trailing_eol: bool) {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = format!("category_code,kind,name,nominated_by{eol}");
                let mut expected = Vec::new();
                for (i, l) in lines.iter().enumerate() {
                    let number = i as u32 + 2;
                    match l {
                        Line::Blank => text.push_str(eol),
                        Line::Record(fields) => {
                            let mut w = csv::WriterBuilder::new()
                                .terminator(csv::Terminator::Any(b'\n'))
                                .from_writer(Vec::new());
                            w.write_record(fields).unwrap();
                            let mut bytes = w.into_inner().unwrap();
                            bytes.pop();
                            text.push_str(std::str::from_utf8(&bytes).unwrap());
                            text.push_str(eol);
                            let values: Vec<Option<String>> = fields.iter().map(|f| expect(f)).collect();
                            if values.iter().any(Option::is_some) {
                                let mut r = row(number, &[]);
                                for (c, v) in Column::ALL.into_iter().filter(|c| c.is_required()).zip(values) {
                                    r.values[c as usize] = v;
                                }
                                expected.push(r);
                            }
                        }
                    }
                }
                // Without a final line break the last record must still get its own number.
                if !trailing_eol {
                    text.truncate(text.len() - eol.len());
                }
                let mut rows = Vec::new();
                let result = read_bytes(text.as_bytes(), |r| {
                    rows.push(r);
                    Ok::<(), ()>(())
                });
                if expected.is_empty() {
                    prop_assert!(matches!(result, Err(ReadError::Sheet(SheetError::Empty))));
                } else {
                    prop_assert_eq!(result.ok(), Some(expected.len() as u32));
                    prop_assert_eq!(rows, expected);
                }
            }
        }
    }
}
