//! Reads uploaded recipient spreadsheets (xlsx or CSV in UTF-8/GBK) row by row, so an upload
//! never has to fit in memory; validating what the rows say is the caller's job.
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};
use encoding_rs_io::DecodeReaderBytesBuilder;

mod xlsx;
use xlsx::{count_shared_strings, read_xlsx, unzipped_sizes};

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
/// What the shared strings part may inflate to. A header and [`MAX_ROWS`] rows of eight distinct
/// texts of up to 20 characters come to ~50 MB of `<si><t>…</t></si>`.
pub const MAX_SHARED_STRINGS_BYTES: u64 = 64 * 1024 * 1024;
/// Shared strings (`<si>` entries, and the `uniqueCount` a file claims): every cell of the eight
/// columns of [`MAX_ROWS`] rows distinct. calamine loads the whole table before the first row and
/// reserves room for the claimed count up front, so a few hundred KB of zip holding 15 million
/// empty strings would otherwise cost ~600 MB and tens of seconds before any limit is seen; the
/// table is counted first, streaming, and the file refused at the first string over the limit.
/// Held by calamine, the table takes at most 24 B (the `String`) plus one heap block (≥ 32 B)
/// per entry plus its text: ≤ 1.6 M × 56 B + 64 MB ≈ 150 MB, whatever the file claims.
pub const MAX_SHARED_STRINGS: u64 = MAX_ROWS as u64 * 8;
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
/// The file is read twice: a first pass checks every limit and the whole file's shape (header,
/// rows, encoding, XML) and delivers nothing; only a file that passes is read again for
/// `on_row`. So a file is either refused before its first row reaches the caller — as soon as a
/// limit is crossed, not after everything was judged — or delivered whole; the only error after
/// a delivered row is the caller's own (or the file changing between the passes). Memory does
/// not grow with the file in either pass, beyond an xlsx's shared strings (see
/// [`MAX_SHARED_STRINGS`]).
///
/// Blocking I/O: call it from `spawn_blocking` in async code. A sheet with a header but no data
/// is [`SheetError::Empty`].
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
    rewind(&mut source)?;
    match format {
        Format::Xlsx => {
            let sizes = unzipped_sizes(&mut source, len)?;
            if sizes.total > MAX_UNZIPPED_BYTES
                || sizes.styles > MAX_STYLES_BYTES
                || sizes.shared_strings > MAX_SHARED_STRINGS_BYTES
            {
                return Err(SheetError::TooLarge.into());
            }
            rewind(&mut source)?;
            count_shared_strings(&mut source)?;
            rewind(&mut source)?;
            read_xlsx(source, on_row)
        }
        Format::Csv { utf8 } => {
            // The checking pass: limits and shape, nothing delivered.
            let mut check = Rows::new(|_: SheetRow| Ok::<(), E>(()));
            read_csv(&mut source, utf8, &mut check)?;
            check.finish::<E>()?;
            rewind(&mut source)?;
            let mut rows = Rows::new(on_row);
            read_csv(source, utf8, &mut rows)?;
            rows.finish()
        }
    }
}

fn rewind(source: &mut impl Seek) -> Result<(), SheetError> {
    source
        .seek(SeekFrom::Start(0))
        .map(|_| ())
        .map_err(|e| io_error(e, "读取文件失败"))
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

#[cfg(test)]
mod tests;
