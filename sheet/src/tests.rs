use super::*;
use crate::xlsx::*;
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
    // Refused in the checking pass: not one row reached the caller.
    assert_eq!(seen, 0);
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
            styles: 0,
            shared_strings: 0
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
            styles: 0,
            shared_strings: 0
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
                styles: (8 << 20) + 1,
                shared_strings: 0
            })
        );
        let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
        assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)), "{name}");
    }
}

/// A zip holding only `xl/sharedStrings.xml` with `n` empty strings (deflated: a few hundred KB
/// per ten million), the table claiming `claimed` unique ones.
fn shared_strings_zip(n: u64, claimed: u64) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    z.start_file("xl/sharedStrings.xml", zip::write::SimpleFileOptions::default())
        .unwrap();
    write!(
        z,
        r#"<?xml version="1.0"?><sst xmlns="x" count="{claimed}" uniqueCount="{claimed}">"#
    )
    .unwrap();
    let chunk = "<si><t/></si>".repeat(10_000);
    for _ in 0..n / 10_000 {
        z.write_all(chunk.as_bytes()).unwrap();
    }
    z.write_all("<si><t/></si>".repeat((n % 10_000) as usize).as_bytes())
        .unwrap();
    z.write_all(b"</sst>").unwrap();
    z.finish().unwrap().into_inner()
}

#[test]
fn shared_string_bombs_are_counted_before_calamine_loads_them() {
    // One string over the limit, truthfully claimed: refused while counting.
    let bomb = shared_strings_zip(MAX_SHARED_STRINGS + 1, MAX_SHARED_STRINGS + 1);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
    assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)), "{err:?}");
    // The same, claiming few: the count, not the claim, decides.
    let liar = shared_strings_zip(MAX_SHARED_STRINGS + 1, 3);
    let err = read_bytes(&liar, |_| Ok::<(), ()>(())).unwrap_err();
    assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)), "{err:?}");
    // A claim over the limit is refused at once (calamine would reserve room for it).
    let claim = shared_strings_zip(3, u64::MAX);
    let err = read_bytes(&claim, |_| Ok::<(), ()>(())).unwrap_err();
    assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)), "{err:?}");
    // At the limit the table passes, and calamine then finds no workbook in the zip.
    let ok = shared_strings_zip(MAX_SHARED_STRINGS, MAX_SHARED_STRINGS);
    let err = read_bytes(&ok, |_| Ok::<(), ()>(())).unwrap_err();
    assert!(
        matches!(err, ReadError::Sheet(SheetError::Unreadable(_))),
        "{err:?}"
    );
}

#[test]
fn shared_strings_have_their_own_size_budget() {
    let bomb = zip_claiming("xl/SharedStrings.xml", (MAX_SHARED_STRINGS_BYTES + 1) as u32);
    let sizes = unzipped_sizes(&mut Cursor::new(&bomb), bomb.len() as u64).unwrap();
    assert_eq!(sizes.shared_strings, MAX_SHARED_STRINGS_BYTES + 1);
    let err = read_bytes(&bomb, |_| Ok::<(), ()>(())).unwrap_err();
    assert!(matches!(err, ReadError::Sheet(SheetError::TooLarge)));
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
