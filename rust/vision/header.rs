//! An image's size from its file header, without decoding the pixels: PNG, JPEG, WebP (lossy, lossless, extended)
//! and GIF, read as Pillow reads them, then turned upright as transformers' `load_image` turns them.
//!
//! `load_image` calls `PIL.ImageOps.exif_transpose`, which applies the orientation `Image.getexif` gives: the EXIF
//! block's Orientation tag (a JPEG APP1 "Exif" segment, a PNG `eXIf` chunk, a WebP `EXIF` chunk), else a
//! `tiff:Orientation` in the XMP packet (a JPEG APP1 XMP segment, a PNG `tEXt`/`iTXt` "XML:com.adobe.xmp", a WebP
//! `XMP ` chunk). Orientations 5 to 8 (the transposes and the quarter turns) swap width and height.
//!
//! The size is Pillow's where it differs from the bare header: a GIF's is its logical screen grown to hold its first
//! frame, a JPEG's the last frame header's before the first scan, a WebP's its canvas.
//!
//! What is read: a JPEG up to its first scan, a GIF up to its first image, a PNG up to its first `IDAT`, a WebP's
//! first chunk. The metadata that PNG and WebP may put after the pixels is looked for there too, as Pillow does (it
//! reads a PNG's chunks after `IDAT` when `exif_transpose` loads the image): the pixel chunks are skipped, never read,
//! and a file cut after its header keeps the header's size, the metadata it lacks taken as absent.
//!
//! Not read: a PNG's compressed XMP (`zTXt`, compressed `iTXt`) and ImageMagick's "Raw profile type exif" text,
//! which Pillow would inflate; both are rare.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek};
use std::path::Path;

use super::ImageSize;

/// The size of an encoded image from its first bytes: Err(reason) when the format is not PNG/JPEG/WebP/GIF or the
/// header is truncated/corrupt.
pub fn image_size(data: &[u8]) -> Result<ImageSize, String> {
    read_image_size(&mut Cursor::new(data))
}

/// The size of the image file at `path`, reading only as much of it as the header needs. Err(reason) for a missing
/// file ("no such file"), unreadable or unsupported content.
pub fn file_image_size(path: &Path) -> Result<ImageSize, String> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => format!("cannot open the file: {e}"),
    })?;
    // A small buffer: the parsers skip what they do not need, and a skip beyond the buffer is a seek, not a read.
    read_image_size(&mut BufReader::with_capacity(4096, file))
}

/// What the parsers read from: encoded bytes in memory, or a buffered file.
trait Source: BufRead + Seek {}
impl<T: BufRead + Seek> Source for T {}

/// The most bytes of one EXIF or XMP block kept (a JPEG segment holds at most 64 KiB); the rest is skipped.
const MAX_METADATA: u32 = 1 << 20;

#[derive(Clone, Copy)]
enum Format {
    Png,
    Jpeg,
    WebP,
    Gif,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::WebP => "WebP",
            Format::Gif => "GIF",
        }
    }
}

/// Each format's signature, as Pillow recognizes it; `?` stands for any byte (a WebP's RIFF size).
const SIGNATURES: [(Format, &[u8]); 5] = [
    (Format::Png, b"\x89PNG\r\n\x1a\n"),
    (Format::Jpeg, b"\xff\xd8\xff"),
    (Format::Gif, b"GIF87a"),
    (Format::Gif, b"GIF89a"),
    (Format::WebP, b"RIFF????WEBP"),
];

/// Why a header could not be read; [`read_image_size`] words it with the format's name.
enum Fault {
    Truncated,
    Corrupt(&'static str),
    Io(io::Error),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Fault::Truncated,
            _ => Fault::Io(e),
        }
    }
}

/// What a header tells: the stored size, and the metadata blocks that may say the image is turned.
struct Header {
    width: u32,
    height: u32,
    exif: Option<Vec<u8>>,
    xmp: Option<Vec<u8>>,
}

impl Header {
    fn new(width: u32, height: u32) -> Self {
        Header { width, height, exif: None, xmp: None }
    }

    /// The size once turned upright as `exif_transpose` turns it: the EXIF orientation, else the XMP one.
    fn upright(&self) -> Result<ImageSize, String> {
        let orientation =
            self.exif.as_deref().and_then(exif_orientation).or_else(|| self.xmp.as_deref().and_then(xmp_orientation));
        let (width, height) = match orientation {
            Some(5..=8) => (self.height, self.width),
            _ => (self.width, self.height),
        };
        if width == 0 || height == 0 {
            return Err("the image is 0 pixels wide or high".to_owned());
        }
        Ok(ImageSize { width, height })
    }
}

fn read_image_size(r: &mut impl Source) -> Result<ImageSize, String> {
    let read_error = |e: io::Error| format!("cannot read the image: {e}");
    let mut head = Vec::with_capacity(12);
    r.by_ref().take(12).read_to_end(&mut head).map_err(read_error)?;
    let format = sniff(&head)?;
    r.seek_relative(-(head.len() as i64)).map_err(read_error)?; // back to the start, within the buffer
    let header = match format {
        Format::Png => png(r),
        Format::Jpeg => jpeg(r),
        Format::WebP => webp(r),
        Format::Gif => gif(r),
    };
    let header = header.map_err(|fault| match fault {
        Fault::Truncated => format!("the {} header is truncated", format.name()),
        Fault::Corrupt(why) => format!("the {} header is corrupt: {why}", format.name()),
        Fault::Io(e) => read_error(e),
    })?;
    header.upright()
}

/// The format whose signature `head` (the first 12 bytes, or all there are) starts with.
fn sniff(head: &[u8]) -> Result<Format, String> {
    if head.is_empty() {
        return Err("the image data is empty".to_owned());
    }
    let agrees =
        |signature: &[u8]| head.iter().zip(signature).all(|(&byte, &expected)| expected == b'?' || byte == expected);
    if let Some(&(format, _)) =
        SIGNATURES.iter().find(|(_, signature)| agrees(signature) && head.len() >= signature.len())
    {
        return Ok(format);
    }
    match SIGNATURES.iter().find(|(_, signature)| agrees(signature)) {
        Some((format, _)) => Err(format!("the {} header is truncated", format.name())),
        None => Err("not a PNG, JPEG, WebP or GIF image".to_owned()),
    }
}

fn array<const N: usize>(r: &mut impl Source) -> Result<[u8; N], Fault> {
    let mut bytes = [0; N];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn byte(r: &mut impl Source) -> Result<u8, Fault> {
    Ok(array::<1>(r)?[0])
}

/// Moves `n` bytes on; past the end, the next read finds the file truncated.
fn skip(r: &mut impl Source, n: u32) -> Result<(), Fault> {
    r.seek_relative(i64::from(n))?;
    Ok(())
}

/// The next `n` bytes, the first [`MAX_METADATA`] of them kept.
fn bytes(r: &mut impl Source, n: u32) -> Result<Vec<u8>, Fault> {
    let kept = n.min(MAX_METADATA);
    let mut data = Vec::new();
    r.by_ref().take(u64::from(kept)).read_to_end(&mut data)?;
    if data.len() < kept as usize {
        return Err(Fault::Truncated);
    }
    skip(r, n - kept)?;
    Ok(data)
}

/// PNG: the size from IHDR, then the chunks up to IEND for `eXIf` (the last one, as Pillow keeps) and the XMP text.
fn png(r: &mut impl Source) -> Result<Header, Fault> {
    skip(r, 8)?;
    let (length, kind) = png_chunk(r)?;
    if kind != *b"IHDR" || length < 13 {
        return Err(Fault::Corrupt("the first chunk is not IHDR"));
    }
    let [w0, w1, w2, w3, h0, h1, h2, h3] = array(r)?;
    let mut header = Header::new(u32::from_be_bytes([w0, w1, w2, w3]), u32::from_be_bytes([h0, h1, h2, h3]));
    skip(r, length - 8)?;
    skip(r, 4)?; // the CRC
    let mut past_idat = false;
    match png_metadata(r, &mut header, &mut past_idat) {
        Err(Fault::Truncated) if past_idat => {} // a file cut in or after the pixels: as for WebP
        walk => walk?,
    }
    Ok(header)
}

fn png_chunk(r: &mut impl Source) -> Result<(u32, [u8; 4]), Fault> {
    let [l0, l1, l2, l3, k0, k1, k2, k3] = array(r)?;
    Ok((u32::from_be_bytes([l0, l1, l2, l3]), [k0, k1, k2, k3]))
}

fn png_metadata(r: &mut impl Source, header: &mut Header, past_idat: &mut bool) -> Result<(), Fault> {
    loop {
        let (length, kind) = png_chunk(r)?;
        match &kind {
            b"IEND" => return Ok(()),
            b"fcTL" if *past_idat => return Ok(()), // an APNG's next frame, where Pillow stops
            b"eXIf" => header.exif = Some(bytes(r, length)?),
            b"tEXt" | b"iTXt" => {
                let text = bytes(r, length)?;
                // Pillow's key for XMP; an iTXt's compression flag follows the key.
                if let Some(rest) = text.strip_prefix(b"XML:com.adobe.xmp\0") {
                    if &kind == b"tEXt" || rest.first() == Some(&0) {
                        header.xmp = Some(text);
                    }
                }
            }
            _ => {
                *past_idat |= &kind == b"IDAT";
                skip(r, length)?;
            }
        }
        skip(r, 4)?; // the CRC
    }
}

/// JPEG: the segments up to the first scan, walked as Pillow's `JpegImageFile._open` walks them: the size from the
/// last frame header (SOFn, or DHP), the first APP1 "Exif" block and the last APP1 XMP packet.
fn jpeg(r: &mut impl Source) -> Result<Header, Fault> {
    skip(r, 2)?; // SOI
    let (mut size, mut exif, mut xmp) = (None, None, None);
    loop {
        let marker = jpeg_marker(r)?;
        match marker {
            0xC8 | 0xD0..=0xD9 | 0xF0..=0xFD => continue, // markers without a segment
            0xDA => break,                                // start of scan
            0xC0..=0xCF | 0xDB..=0xDF | 0xE0..=0xEF | 0xFE => {}
            _ => return Err(Fault::Corrupt("an unknown marker")),
        }
        let length = u16::from_be_bytes(array(r)?).checked_sub(2).ok_or(Fault::Corrupt("a segment length under 2"))?;
        match marker {
            0xC4 | 0xCC => skip(r, length.into())?, // DHT, DAC
            0xC0..=0xCF | 0xDE => {
                if length < 6 {
                    return Err(Fault::Corrupt("a frame header too short")); // Pillow reads 6 bytes of it
                }
                let [_precision, h0, h1, w0, w1] = array(r)?;
                size = Some((u16::from_be_bytes([w0, w1]), u16::from_be_bytes([h0, h1])));
                skip(r, u32::from(length) - 5)?;
            }
            0xE1 => {
                let data = bytes(r, length.into())?;
                if data.starts_with(b"Exif\0\0") {
                    exif = exif.or(Some(data));
                } else if data.starts_with(b"http://ns.adobe.com/xap/1.0/\0") {
                    xmp = Some(data);
                }
            }
            _ => skip(r, length.into())?,
        }
    }
    let (width, height) = size.ok_or(Fault::Corrupt("no frame header before the scan"))?;
    Ok(Header { exif, xmp, ..Header::new(width.into(), height.into()) })
}

/// The next marker's code, past what Pillow passes over: bytes other than 0xFF, fill bytes (0xFF 0xFF) and stuffed
/// zeros (0xFF 0x00).
fn jpeg_marker(r: &mut impl Source) -> Result<u8, Fault> {
    loop {
        if byte(r)? != 0xFF {
            continue;
        }
        let mut code = byte(r)?;
        while code == 0xFF {
            code = byte(r)?;
        }
        if code != 0 {
            return Ok(code);
        }
    }
}

/// WebP: the size from the first chunk, as libwebp gives it to Pillow (a VP8 key frame's, a VP8L image's, or a VP8X
/// canvas'), then for VP8X the first EXIF and XMP chunks that its flags announce (libwebp keeps no others).
fn webp(r: &mut impl Source) -> Result<Header, Fault> {
    let riff: [u8; 12] = array(r)?;
    let riff_end = 8 + u64::from(u32::from_le_bytes([riff[4], riff[5], riff[6], riff[7]]));
    let (kind, length) = webp_chunk(r)?;
    match &kind {
        b"VP8 " => {
            let frame: [u8; 10] = array(r)?;
            if length < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(Fault::Corrupt("not a VP8 key frame"));
            }
            let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3FFF; // the top 2 bits are a scale
            let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3FFF;
            Ok(Header::new(width.into(), height.into()))
        }
        b"VP8L" => {
            let [signature, b0, b1, b2, b3] = array(r)?;
            let bits = u32::from_le_bytes([b0, b1, b2, b3]);
            if length < 5 || signature != 0x2F || bits >> 29 != 0 {
                return Err(Fault::Corrupt("not a VP8L image"));
            }
            Ok(Header::new((bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1))
        }
        b"VP8X" => {
            let [flags, _, _, _, w0, w1, w2, h0, h1, h2] = array(r)?;
            if length < 10 {
                return Err(Fault::Corrupt("a VP8X chunk too short"));
            }
            let mut header =
                Header::new(u32::from_le_bytes([w0, w1, w2, 0]) + 1, u32::from_le_bytes([h0, h1, h2, 0]) + 1);
            skip(r, length - 10)?;
            skip(r, length & 1)?; // the chunk's padding
            let at = 20 + u64::from(length) + u64::from(length & 1);
            match webp_metadata(r, &mut header, flags, at, riff_end) {
                Err(Fault::Truncated) => {} // a file cut short: the metadata it lacks is absent
                walk => walk?,
            }
            Ok(header)
        }
        _ => Err(Fault::Corrupt("the first chunk is not VP8, VP8L or VP8X")),
    }
}

fn webp_chunk(r: &mut impl Source) -> Result<([u8; 4], u32), Fault> {
    let [k0, k1, k2, k3, l0, l1, l2, l3] = array(r)?;
    Ok(([k0, k1, k2, k3], u32::from_le_bytes([l0, l1, l2, l3])))
}

/// The chunks after VP8X, from offset `at` to the RIFF's end, for EXIF (flag 0x08) and XMP (flag 0x04).
fn webp_metadata(r: &mut impl Source, header: &mut Header, flags: u8, mut at: u64, end: u64) -> Result<(), Fault> {
    while at + 8 <= end {
        let (kind, length) = webp_chunk(r)?;
        let wanted = match &kind {
            b"EXIF" => flags & 0x08 != 0 && header.exif.is_none(),
            b"XMP " => flags & 0x04 != 0 && header.xmp.is_none(),
            _ => false,
        };
        if wanted {
            let data = Some(bytes(r, length)?);
            if &kind == b"EXIF" {
                header.exif = data;
            } else {
                header.xmp = data;
            }
        } else {
            skip(r, length)?;
        }
        skip(r, length & 1)?;
        at += 8 + u64::from(length) + u64::from(length & 1);
    }
    Ok(())
}

/// GIF: the logical screen, grown to hold the first frame as Pillow's `GifImageFile._seek` grows it.
fn gif(r: &mut impl Source) -> Result<Header, Fault> {
    let screen: [u8; 13] = array(r)?;
    let mut width = u32::from(u16::from_le_bytes([screen[6], screen[7]]));
    let mut height = u32::from(u16::from_le_bytes([screen[8], screen[9]]));
    if screen[10] & 0x80 != 0 {
        skip(r, 3 << ((screen[10] & 7) + 1))?; // the global color table
    }
    loop {
        match byte(r)? {
            b'!' => {
                byte(r)?; // the extension's label, then its data sub-blocks up to an empty one
                loop {
                    match byte(r)? {
                        0 => break,
                        n => skip(r, n.into())?,
                    }
                }
            }
            b',' => {
                let [x0, x1, y0, y1, w0, w1, h0, h1] = array(r)?;
                let right = u32::from(u16::from_le_bytes([x0, x1])) + u32::from(u16::from_le_bytes([w0, w1]));
                let bottom = u32::from(u16::from_le_bytes([y0, y1])) + u32::from(u16::from_le_bytes([h0, h1]));
                width = width.max(right);
                height = height.max(bottom);
                return Ok(Header::new(width, height));
            }
            b';' => return Err(Fault::Corrupt("no image before the trailer")),
            _ => {} // Pillow passes over any other byte
        }
    }
}

/// The Orientation tag (0x0112) of an EXIF block, as Pillow reads it: after at most two "Exif\0\0" prefixes, a TIFF
/// header ("II" little-endian or "MM" big-endian), then IFD0, whose first readable Orientation entry decides: its
/// first value if an integer, else 0 (no turn). None when there is none, or no readable TIFF header.
fn exif_orientation(exif: &[u8]) -> Option<u32> {
    let mut tiff = exif;
    for _ in 0..2 {
        tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    }
    // Pillow also takes the marks with 42's bytes swapped, and BigTIFF's big-endian mark for classic TIFF's.
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" | b"MM*\0" | b"MM\0+" => true,
        b"II*\0" | b"II\0*" => false,
        _ => return None,
    };
    let uint = |bytes: &[u8]| {
        let push = |n: u32, &b: &u8| n << 8 | u32::from(b);
        if big_endian {
            bytes.iter().fold(0, push)
        } else {
            bytes.iter().rev().fold(0, push)
        }
    };
    let ifd0 = usize::try_from(uint(tiff.get(4..8)?)).ok()?;
    let count = uint(tiff.get(ifd0..ifd0.checked_add(2)?)?) as usize;
    let entries = tiff.get(ifd0 + 2..)?.chunks_exact(12).take(count);
    entries.filter(|entry| uint(&entry[..2]) == 0x0112).find_map(|entry| {
        let (kind, values) = (uint(&entry[2..4]), uint(&entry[4..8]));
        if values == 0 {
            return None; // Pillow skips an empty entry
        }
        let width: usize = match kind {
            3 | 8 => 2,               // SHORT, SSHORT
            4 | 9 => 4,               // LONG, SLONG
            1..=12 => return Some(0), // another TIFF type: no value Pillow turns by
            _ => return None,         // an unknown type, which Pillow skips
        };
        let value = if values as usize <= 4 / width {
            &entry[8..8 + width]
        } else {
            let at = usize::try_from(uint(&entry[8..12])).ok()?;
            tiff.get(at..at.checked_add(width)?)?
        };
        Some(uint(value))
    })
}

/// The orientation in an XMP packet, as Pillow finds it: the first `tiff:Orientation="D` or `tiff:Orientation>D`,
/// D a digit.
fn xmp_orientation(xmp: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"tiff:Orientation";
    xmp.windows(KEY.len()).enumerate().filter(|(_, window)| *window == KEY).find_map(|(at, _)| {
        match xmp[at + KEY.len()..] {
            [b'=', b'"', digit, ..] | [b'>', digit, ..] if digit.is_ascii_digit() => Some(u32::from(digit - b'0')),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test image made by Pillow (3 pixels wide, 5 high), and its size after `exif_transpose` as Pillow gives it.
    macro_rules! case {
        ($name:literal, $width:literal x $height:literal) => {
            (
                $name,
                include_bytes!(concat!("testdata/", $name)).as_slice(),
                ImageSize { width: $width, height: $height },
            )
        };
    }

    const CASES: [(&str, &[u8], ImageSize); 19] = [
        case!("rgb.png", 3 x 5),
        case!("exif8.png", 5 x 3),
        case!("late_exif6.png", 5 x 3), // eXIf after IDAT
        case!("xmp6.png", 5 x 3),       // iTXt XML:com.adobe.xmp
        case!("baseline.jpg", 3 x 5),
        case!("progressive.jpg", 3 x 5),
        case!("exif1.jpg", 3 x 5),
        case!("exif6.jpg", 5 x 3),    // Pillow writes big-endian EXIF
        case!("exif5_ii.jpg", 5 x 3), // little-endian EXIF
        case!("xmp8.jpg", 5 x 3),     // XMP only
        case!("junk.jpg", 3 x 5),     // fill bytes, junk and a stuffed zero between segments
        case!("lossy.webp", 3 x 5),
        case!("lossless.webp", 3 x 5),
        case!("alpha.webp", 3 x 5), // VP8X, ALPH, VP8
        case!("exif6.webp", 5 x 3),
        case!("exif6_noflag.webp", 3 x 5), // an EXIF chunk the VP8X flags do not announce
        case!("xmp6.webp", 5 x 3),
        case!("rgb.gif", 3 x 5),
        case!("small_screen.gif", 3 x 5), // a 2x2 logical screen, grown to the 3x5 frame
    ];

    fn size(width: u32, height: u32) -> ImageSize {
        ImageSize { width, height }
    }

    #[test]
    fn sizes_as_pillow_gives_them_after_exif_transpose() {
        for (name, data, expected) in CASES {
            assert_eq!(image_size(data), Ok(expected), "{name}");
        }
    }

    #[test]
    fn files_read_like_bytes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust/vision/testdata");
        for (name, _, expected) in CASES {
            assert_eq!(file_image_size(&dir.join(name)), Ok(expected), "{name}");
        }
        assert_eq!(file_image_size(&dir.join("absent.png")), Err("no such file".to_owned()));
        let directory = file_image_size(&dir).unwrap_err();
        assert!(directory.starts_with("cannot read the image"), "{directory}");
    }

    /// Chunks larger than the file buffer before and after the pixels: skipped by seeking, the eXIf past them found.
    #[test]
    fn files_skip_what_they_do_not_need() {
        let late = CASES[2].1; // the signature and IHDR, then IDAT at 33, eXIf at 70, IEND at 114
        let private = |size: u32| [&size.to_be_bytes()[..], b"prVt", &vec![7; size as usize], &[0; 4]].concat();
        let (ihdr, idat, exif_chunk) = (&late[..33], &late[33..70], &late[70..114]);
        let data =
            [ihdr, &private(10_000), idat, &private(30_000), exif_chunk, &private(20_000), &late[114..]].concat();
        assert_eq!(image_size(&data), Ok(size(5, 3)));
        assert_eq!(through_a_file(&data, "png"), Ok(size(5, 3)));
        // A JPEG with a large APP2 segment, then an EXIF block (orientation 6) padded past the buffer.
        let jpeg = CASES[4].1;
        let segment = |marker: u8, payload: &[u8]| {
            [&[0xFF, marker][..], &(payload.len() as u16 + 2).to_be_bytes(), payload].concat()
        };
        let exif6 = [exif(false, 0x0112, 3, 1, [6, 0, 0, 0]), vec![0; 9_000]].concat();
        let data = [&jpeg[..2], &segment(0xE2, &[1; 60_000]), &segment(0xE1, &exif6), &jpeg[2..]].concat();
        assert_eq!(image_size(&data), Ok(size(5, 3)));
        assert_eq!(through_a_file(&data, "jpg"), Ok(size(5, 3)));
    }

    fn through_a_file(data: &[u8], extension: &str) -> Result<ImageSize, String> {
        let path = std::env::temp_dir().join(format!("sftmask-header-test-{}.{extension}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let found = file_image_size(&path);
        std::fs::remove_file(&path).unwrap();
        found
    }

    /// Every prefix of every test image gives an error or the image's size (turned or not: the metadata after the
    /// pixels may be cut off); no prefix panics.
    #[test]
    fn truncated_images_fail_cleanly() {
        for (name, data, expected) in CASES {
            let transposed = size(expected.height, expected.width);
            for end in 0..data.len() {
                match image_size(&data[..end]) {
                    Ok(found) => assert!(found == expected || found == transposed, "{name}[..{end}]: {found:?}"),
                    Err(why) => assert!(!why.is_empty()),
                }
            }
        }
        let jpeg = CASES[4].1;
        assert_eq!(image_size(&jpeg[..2]), Err("the JPEG header is truncated".to_owned()));
        assert_eq!(image_size(&jpeg[..200]), Err("the JPEG header is truncated".to_owned()));
        let png = CASES[0].1;
        assert_eq!(image_size(&png[..20]), Err("the PNG header is truncated".to_owned()));
        // Cut inside the pixels: the header's size stands, the eXIf after IDAT is lost.
        let late = CASES[2].1;
        assert_eq!(image_size(&late[..60]), Ok(size(3, 5)));
        assert_eq!(image_size(&CASES[11].1[..20]), Err("the WebP header is truncated".to_owned()));
        assert_eq!(image_size(&CASES[17].1[..12]), Err("the GIF header is truncated".to_owned()));
        assert_eq!(image_size(b"RIFF"), Err("the WebP header is truncated".to_owned()));
    }

    /// Bytes changed at random in every test image: an error or a size, never a panic or a hang.
    #[test]
    fn corrupted_images_never_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (_, data, _) in CASES {
            for _ in 0..300 {
                let mut bytes = data.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
                let end = bytes.len() - (next() % 8) as usize;
                if let Ok(found) = image_size(&bytes[..end]) {
                    assert!(found.width > 0 && found.height > 0);
                }
            }
        }
    }

    #[test]
    fn other_bytes_are_not_images() {
        let not_an_image = Err("not a PNG, JPEG, WebP or GIF image".to_owned());
        assert_eq!(image_size(b"hello, world"), not_an_image);
        assert_eq!(image_size(b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0"), not_an_image);
        assert_eq!(image_size(b"RIFF\x24\0\0\0WAVEfmt "), not_an_image);
        assert_eq!(image_size(b"\xff\xd8\x00\x00"), not_an_image);
        assert_eq!(image_size(b""), Err("the image data is empty".to_owned()));
    }

    #[test]
    fn corrupt_headers_say_so() {
        let corrupt = |format: &str, why: &str| Err(format!("the {format} header is corrupt: {why}"));
        // A PNG whose first chunk is not IHDR.
        let mut png = CASES[0].1.to_vec();
        png[12..16].copy_from_slice(b"gAMA");
        assert_eq!(image_size(&png), corrupt("PNG", "the first chunk is not IHDR"));
        // A PNG 0 pixels wide.
        let mut png = CASES[0].1.to_vec();
        png[16..20].fill(0);
        assert_eq!(image_size(&png), Err("the image is 0 pixels wide or high".to_owned()));
        // A JPEG whose scan comes before any frame header: SOI, then SOS.
        assert_eq!(image_size(b"\xff\xd8\xff\xda\x00\x08"), corrupt("JPEG", "no frame header before the scan"));
        assert_eq!(image_size(b"\xff\xd8\xff\x01"), corrupt("JPEG", "an unknown marker"));
        assert_eq!(image_size(b"\xff\xd8\xff\xe0\x00\x01"), corrupt("JPEG", "a segment length under 2"));
        // A WebP whose first chunk is neither VP8, VP8L nor VP8X, and one whose VP8 start code is wrong.
        let mut webp = CASES[11].1.to_vec();
        webp[12..16].copy_from_slice(b"ALPH");
        assert_eq!(image_size(&webp), corrupt("WebP", "the first chunk is not VP8, VP8L or VP8X"));
        let mut webp = CASES[11].1.to_vec();
        webp[23] = 0;
        assert_eq!(image_size(&webp), corrupt("WebP", "not a VP8 key frame"));
        // A GIF that ends before its first image.
        let mut gif = [&CASES[17].1[..13], b";"].concat();
        gif[10] = 0; // no global color table
        assert_eq!(image_size(&gif), corrupt("GIF", "no image before the trailer"));
    }

    /// An EXIF block with one IFD0 entry.
    fn exif(big_endian: bool, tag: u16, kind: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
        let mut block = b"Exif\0\0".to_vec();
        block.extend_from_slice(if big_endian { b"MM\0*" } else { b"II*\0" });
        // IFD0's offset, its entry count, then the entry.
        for (n, width) in [(8, 4), (1, 2), (u32::from(tag), 2), (u32::from(kind), 2), (count, 4)] {
            let bytes =
                if big_endian { n.to_be_bytes()[4 - width..].to_vec() } else { n.to_le_bytes()[..width].to_vec() };
            block.extend(bytes);
        }
        block.extend(value);
        block.extend([0; 4]); // no next IFD
        block
    }

    #[test]
    fn exif_orientation_as_pillow_reads_it() {
        assert_eq!(exif_orientation(&exif(false, 0x0112, 3, 1, [6, 0, 0, 0])), Some(6));
        assert_eq!(exif_orientation(&exif(true, 0x0112, 3, 1, [0, 6, 0, 0])), Some(6));
        assert_eq!(exif_orientation(&exif(false, 0x0112, 4, 1, [8, 0, 0, 0])), Some(8));
        assert_eq!(exif_orientation(&exif(true, 0x0112, 4, 1, [0, 0, 0, 5])), Some(5));
        assert_eq!(exif_orientation(&exif(false, 0x0112, 3, 2, [7, 0, 6, 0])), Some(7)); // the first value
        assert_eq!(exif_orientation(&exif(false, 0x0112, 2, 2, [b'6', 0, 0, 0])), Some(0)); // ASCII: no turn
        assert_eq!(exif_orientation(&exif(false, 0x0112, 99, 1, [6, 0, 0, 0])), None); // unknown type: skipped
        assert_eq!(exif_orientation(&exif(false, 0x0112, 3, 0, [6, 0, 0, 0])), None); // no value: skipped
        assert_eq!(exif_orientation(&exif(false, 0x0110, 3, 1, [6, 0, 0, 0])), None); // another tag

        // Two "Exif\0\0" prefixes, as Pillow strips; the bare TIFF block.
        assert_eq!(
            exif_orientation(&[b"Exif\0\0".as_slice(), &exif(false, 0x0112, 3, 1, [6, 0, 0, 0])].concat()),
            Some(6)
        );
        assert_eq!(exif_orientation(&exif(false, 0x0112, 3, 1, [6, 0, 0, 0])[6..]), Some(6));
        // A SHORT out of line: 3 values at offset 26 of the TIFF block.
        let mut block = exif(false, 0x0112, 3, 3, [26, 0, 0, 0]);
        block.extend([3, 0, 1, 0, 1, 0]);
        assert_eq!(exif_orientation(&block), Some(3));
        let mut block = exif(true, 0x0112, 3, 1, [0, 6, 0, 0]);
        block[9] = b'+';
        assert_eq!(exif_orientation(&block), Some(6));
        block[..10].copy_from_slice(b"Exif\0\0II+\0");
        assert_eq!(exif_orientation(&block), None);
        // Cut inside the entry, an IFD0 offset past the end, not a TIFF header.
        let block = exif(false, 0x0112, 3, 1, [6, 0, 0, 0]);
        assert_eq!(exif_orientation(&block[..20]), None);
        assert_eq!(exif_orientation(&[b"Exif\0\0II*\0\xff\xff\xff\xff".as_slice(), &[0; 20]].concat()), None);
        assert_eq!(exif_orientation(b"Exif\0\0XX*\0\x08\0\0\0"), None);
        assert_eq!(exif_orientation(b""), None);
    }

    #[test]
    fn xmp_orientation_as_pillow_finds_it() {
        assert_eq!(xmp_orientation(br#"<rdf:Description tiff:Orientation="6"/>"#), Some(6));
        assert_eq!(xmp_orientation(b"<tiff:Orientation>8</tiff:Orientation>"), Some(8));
        assert_eq!(xmp_orientation(br#"tiff:Orientation="x" tiff:Orientation="3""#), Some(3));
        assert_eq!(xmp_orientation(b"tiff:Orientation"), None);
        assert_eq!(xmp_orientation(b""), None);
    }

    #[test]
    fn exif_comes_before_xmp() {
        // A JPEG whose EXIF says 1 and whose XMP says 6: the EXIF decides, as in Pillow.
        let jpeg = CASES[4].1;
        let app1 =
            |payload: &[u8]| [b"\xff\xe1".as_slice(), &(payload.len() as u16 + 2).to_be_bytes(), payload].concat();
        let exif1 = app1(&exif(false, 0x0112, 3, 1, [1, 0, 0, 0]));
        let xmp6 = app1(&[b"http://ns.adobe.com/xap/1.0/\0".as_slice(), br#"<x tiff:Orientation="6"/>"#].concat());
        let both = [&jpeg[..2], &exif1, &xmp6, &jpeg[2..]].concat();
        assert_eq!(image_size(&both), Ok(size(3, 5)));
        let xmp_only = [&jpeg[..2], &xmp6, &jpeg[2..]].concat();
        assert_eq!(image_size(&xmp_only), Ok(size(5, 3)));
    }
}
