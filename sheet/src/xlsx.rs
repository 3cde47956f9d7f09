//! The xlsx side: the first visible sheet read cell by cell (calamine's streaming reader),
//! after the zip's declared sizes were checked against the limits (a small file that claims to
//! inflate to gigabytes is refused before anything is unpacked), and the shared strings counted
//! (a small file holding millions of them is refused before calamine loads them).
use super::*;
use quick_xml::events::Event;

pub(crate) fn read_xlsx<R: Read + Seek, E>(
    source: R,
    on_row: impl FnMut(SheetRow) -> Result<(), E>,
) -> Result<u32, ReadError<E>> {
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
    // The checking pass (limits, shape, XML to the end), then the delivering one; the workbook
    // (and its shared strings) is opened once for both.
    let mut check = Rows::new(|_: SheetRow| Ok::<(), E>(()));
    walk(&mut workbook, &name, &mut check)?;
    check.finish::<E>()?;
    let mut rows = Rows::new(on_row);
    walk(&mut workbook, &name, &mut rows)?;
    rows.finish()
}

/// Streams the sheet XML cell by cell into `rows`.
fn walk<R: Read + Seek, E, F>(
    workbook: &mut Xlsx<R>,
    name: &str,
    rows: &mut Rows<F>,
) -> Result<(), ReadError<E>>
where
    F: FnMut(SheetRow) -> Result<(), E>,
{
    let mut cells = workbook.worksheet_cells_reader(name).map_err(xlsx_error)?;
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

/// Counts the entries of every shared strings part, streaming, before calamine loads the table
/// into memory: refused at the first entry over [`MAX_SHARED_STRINGS`], or at once when the part
/// claims more (`uniqueCount`, which calamine reserves room for). Memory: the inflater's window
/// and one XML event.
pub(crate) fn count_shared_strings<R: Read + Seek>(source: R) -> Result<(), SheetError> {
    let bad = |what: &dyn std::fmt::Display| {
        tracing::debug!(error = %what, "sheet: shared strings unreadable");
        SheetError::Unreadable(NOT_XLSX.to_owned())
    };
    let mut zip = zip::ZipArchive::new(source).map_err(|e| bad(&e))?;
    let parts: Vec<usize> = (0..zip.len())
        .filter(|&i| {
            zip.name_for_index(i)
                .and_then(Result::ok)
                .is_some_and(|n| is_part(n.as_bytes(), b"sharedStrings.xml"))
        })
        .collect();
    for i in parts {
        let part = zip.by_index(i).map_err(|e| bad(&e))?;
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
        let (mut buf, mut count) = (Vec::new(), 0u64);
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf).map_err(|e| bad(&e))? {
                Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                    "si" => {
                        count += 1;
                        if count > MAX_SHARED_STRINGS {
                            return Err(SheetError::TooLarge);
                        }
                    }
                    "sst" => {
                        for a in e.attributes().with_checks(false) {
                            let a = a.map_err(|e| bad(&e))?;
                            if a.key.local_name().as_ref() != "uniqueCount" {
                                continue;
                            }
                            let digits = a.value.trim();
                            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                                return Err(bad(&"uniqueCount is not a number"));
                            }
                            // More digits than u64 holds is over the limit too.
                            let claimed = digits.parse::<u64>().unwrap_or(u64::MAX);
                            if claimed > MAX_SHARED_STRINGS {
                                return Err(SheetError::TooLarge);
                            }
                        }
                    }
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether a zip entry's file name (any folder, any letter case: calamine finds parts so) is
/// `file`.
fn is_part(path: &[u8], file: &[u8]) -> bool {
    let name = path.rsplit(|&b| b == b'/' || b == b'\\').next().unwrap_or(path);
    name.eq_ignore_ascii_case(file)
}

pub(crate) fn cell_text(value: &DataRef<'_>) -> Option<String> {
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
pub(crate) fn number_text(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    // -0 would print as "-0".
    Some(if f == 0.0 { "0".to_owned() } else { f.to_string() })
}

pub(crate) fn datetime_text(dt: &ExcelDateTime) -> String {
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
pub(crate) struct ZipSizes {
    pub(crate) total: u64,
    /// Every entry named `styles.xml`, whatever its folder: calamine finds the part by name,
    /// folder from the package relationships and letter case ignored.
    pub(crate) styles: u64,
    /// Every entry named `sharedStrings.xml`, likewise.
    pub(crate) shared_strings: u64,
}

/// Reads [`ZipSizes`] from the central directory (see [`MAX_UNZIPPED_BYTES`]). Anything this
/// cannot parse is rejected: calamine would fail on it too.
pub(crate) fn unzipped_sizes<R: Read + Seek>(r: &mut R, len: u64) -> Result<ZipSizes, SheetError> {
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
    let mut sizes = ZipSizes {
        total: 0,
        styles: 0,
        shared_strings: 0,
    };
    let mut p = 0usize;
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
        if is_part(path, b"styles.xml") {
            sizes.styles = sizes.styles.saturating_add(size);
        }
        if is_part(path, b"sharedStrings.xml") {
            sizes.shared_strings = sizes.shared_strings.saturating_add(size);
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
