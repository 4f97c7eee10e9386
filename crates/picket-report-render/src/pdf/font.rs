//! The embedded fonts: DejaVu Sans regular and bold, measured with `ttf-parser`, subset with
//! `subsetter` to the glyphs a document uses, and written as Type 0 (CID) fonts with a
//! ToUnicode map, so the text can be searched and copied.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};

static REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// Which of the two faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

/// A face with the glyphs used so far (glyph id → the character it shows).
pub struct Font {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    units: f32,
    used: BTreeMap<u16, char>,
    name: &'static str,
}

impl Font {
    fn load(data: &'static [u8], name: &'static str) -> Font {
        let face = ttf_parser::Face::parse(data, 0).expect("the shipped font parses");
        Font {
            units: face.units_per_em() as f32,
            data,
            face,
            used: BTreeMap::new(),
            name,
        }
    }

    /// The glyph of `c`; a character the font lacks shows as `?`.
    fn glyph(&self, c: char) -> u16 {
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map(|g| g.0)
            .unwrap_or(0)
    }

    fn advance(&self, gid: u16) -> f32 {
        self.face
            .glyph_hor_advance(ttf_parser::GlyphId(gid))
            .unwrap_or(0) as f32
            / self.units
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
    }

    /// The glyphs of `text`, recorded as used.
    pub fn glyphs(&mut self, text: &str) -> Vec<u16> {
        text.chars()
            .filter(|c| !c.is_control())
            .map(|c| {
                let g = self.glyph(c);
                self.used.entry(g).or_insert(c);
                g
            })
            .collect()
    }
}

/// Both faces.
pub struct Fonts {
    pub regular: Font,
    pub bold: Font,
}

impl Fonts {
    pub fn new() -> Fonts {
        Fonts {
            regular: Font::load(REGULAR, "DejaVuSans"),
            bold: Font::load(BOLD, "DejaVuSans-Bold"),
        }
    }

    pub fn get(&self, face: Face) -> &Font {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    pub fn get_mut(&mut self, face: Face) -> &mut Font {
        match face {
            Face::Regular => &mut self.regular,
            Face::Bold => &mut self.bold,
        }
    }
}

/// A face as written: its glyph ids in the subset, by original id.
pub struct Written {
    remap: BTreeMap<u16, u16>,
}

impl Written {
    /// `glyphs` (original ids) as the two-byte codes of the written font.
    pub fn encode(&self, glyphs: &[u16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(glyphs.len() * 2);
        for g in glyphs {
            let n = self.remap.get(g).copied().unwrap_or(0);
            out.extend_from_slice(&n.to_be_bytes());
        }
        out
    }
}

/// Zlib-compressed `data`, for `FlateDecode` streams.
pub fn compress(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// Writes `font` (the glyphs it used) as a Type 0 font at `type0`, using the four references
/// after it too.
pub fn write(pdf: &mut Pdf, font: &Font, type0: Ref, tag: &str) -> Written {
    let (cid, descriptor, file, cmap_ref) = (
        Ref::new(type0.get() + 1),
        Ref::new(type0.get() + 2),
        Ref::new(type0.get() + 3),
        Ref::new(type0.get() + 4),
    );
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut remap = BTreeMap::new();
    for &g in font.used.keys() {
        remap.insert(g, remapper.remap(g));
    }
    let subset = subsetter::subset(font.data, 0, &remapper).expect("the shipped font subsets");
    let base = format!("{tag}+{}", font.name);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);
    // Widths by new glyph id, in thousandths of an em.
    let mut widths = vec![0f32; remap.values().map(|n| *n as usize + 1).max().unwrap_or(1)];
    for (&old, &new) in &remap {
        widths[new as usize] = font.advance(old) * 1000.0;
    }
    let mut c = pdf.cid_font(cid);
    c.subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    c.widths().consecutive(0, widths);
    c.finish();
    let f = &font.face;
    let k = 1000.0 / font.units;
    let bb = f.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            bb.x_min as f32 * k,
            bb.y_min as f32 * k,
            bb.x_max as f32 * k,
            bb.y_max as f32 * k,
        ))
        .italic_angle(0.0)
        .ascent(f.ascender() as f32 * k)
        .descent(f.descender() as f32 * k)
        .cap_height(f.capital_height().unwrap_or(f.ascender()) as f32 * k)
        .stem_v(80.0)
        .font_file2(file);
    let packed = compress(&subset);
    pdf.stream(file, &packed)
        .filter(pdf_writer::Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);
    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
    for (&old, &c) in &font.used {
        cmap.pair(remap[&old], c);
    }
    pdf.cmap(cmap_ref, &cmap.finish());
    Written { remap }
}
