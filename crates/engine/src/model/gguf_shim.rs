//! TEMPORARY stand-in for `crate::gguf` (being written by a colleague) with the agreed API,
//! so the model can be built and tested before it lands. Delete when `crate::gguf` exists.
#![allow(missing_docs, dead_code)]

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("{0}")]
    Msg(String),
}

fn err<T>(m: impl Into<String>) -> Result<T, GgufError> {
    Err(GgufError::Msg(m.into()))
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<MetadataValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
    Other(u32),
}

#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    pub offset: u64,
    pub n_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Gguf {
    pub version: u32,
    pub metadata: BTreeMap<String, MetadataValue>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    pub data_offset: u64,
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}
impl Cur<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], GgufError> {
        if self.p + n > self.b.len() {
            return err("truncated");
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.u64()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn value(&mut self, t: u32) -> Result<MetadataValue, GgufError> {
        use MetadataValue as V;
        Ok(match t {
            0 => V::U8(self.take(1)?[0]),
            1 => V::I8(self.take(1)?[0] as i8),
            2 => V::U16(u16::from_le_bytes(self.take(2)?.try_into().unwrap())),
            3 => V::I16(i16::from_le_bytes(self.take(2)?.try_into().unwrap())),
            4 => V::U32(self.u32()?),
            5 => V::I32(self.u32()? as i32),
            6 => V::F32(f32::from_bits(self.u32()?)),
            7 => V::Bool(self.take(1)?[0] != 0),
            8 => V::String(self.string()?),
            9 => {
                let et = self.u32()?;
                let n = self.u64()? as usize;
                let mut v = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    v.push(self.value(et)?);
                }
                V::Array(v)
            }
            10 => V::U64(self.u64()?),
            11 => V::I64(self.u64()? as i64),
            12 => V::F64(f64::from_bits(self.u64()?)),
            t => return err(format!("bad metadata type {t}")),
        })
    }
}

fn type_info(t: GgmlType) -> Option<(usize, usize)> {
    match t {
        GgmlType::F32 => Some((1, 4)),
        GgmlType::F16 => Some((1, 2)),
        GgmlType::Q4_0 => Some((32, 18)),
        GgmlType::Q4_1 => Some((32, 20)),
        GgmlType::Q8_0 => Some((32, 34)),
        GgmlType::Other(_) => None,
    }
}

impl Gguf {
    pub fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
        let mut c = Cur { b: bytes, p: 0 };
        if c.take(4)? != b"GGUF" {
            return err("not a GGUF");
        }
        let version = c.u32()?;
        let n_t = c.u64()? as usize;
        let n_kv = c.u64()? as usize;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let k = c.string()?;
            let t = c.u32()?;
            let v = c.value(t)?;
            metadata.insert(k, v);
        }
        let alignment = match metadata.get("general.alignment") {
            Some(MetadataValue::U32(a)) => *a as u64,
            _ => 32,
        };
        let mut tensors = Vec::new();
        for _ in 0..n_t {
            let name = c.string()?;
            let nd = c.u32()? as usize;
            let dims = (0..nd).map(|_| c.u64()).collect::<Result<Vec<_>, _>>()?;
            let t = c.u32()?;
            let ggml_type = match t {
                0 => GgmlType::F32,
                1 => GgmlType::F16,
                2 => GgmlType::Q4_0,
                3 => GgmlType::Q4_1,
                8 => GgmlType::Q8_0,
                t => GgmlType::Other(t),
            };
            let offset = c.u64()?;
            let n: u64 = dims.iter().product();
            let n_bytes = type_info(ggml_type)
                .map(|(bs, ts)| n / bs as u64 * ts as u64)
                .unwrap_or(0);
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
                n_bytes,
            });
        }
        let data_offset = (c.p as u64).div_ceil(alignment) * alignment;
        Ok(Gguf {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
        })
    }
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GgufError::Msg(format!("no tensor {name}")))
    }
    pub fn tensor_bytes<'a>(&self, bytes: &'a [u8], name: &str) -> Result<&'a [u8], GgufError> {
        let t = self.tensor(name)?;
        let s = (self.data_offset + t.offset) as usize;
        bytes
            .get(s..s + t.n_bytes as usize)
            .ok_or_else(|| GgufError::Msg("out of range".into()))
    }
    pub fn tensor_f32(&self, bytes: &[u8], name: &str) -> Result<Vec<f32>, GgufError> {
        let t = self.tensor(name)?;
        let n = t.dims.iter().product::<u64>() as usize;
        dequantize(t.ggml_type, self.tensor_bytes(bytes, name)?, n)
    }
    fn get(&self, key: &str) -> Result<&MetadataValue, GgufError> {
        self.metadata
            .get(key)
            .ok_or_else(|| GgufError::Msg(format!("missing {key}")))
    }
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        match self.get(key)? {
            MetadataValue::U32(v) => Ok(*v),
            _ => err("type"),
        }
    }
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        match self.get(key)? {
            MetadataValue::U64(v) => Ok(*v),
            _ => err("type"),
        }
    }
    pub fn get_f32(&self, key: &str) -> Result<f32, GgufError> {
        match self.get(key)? {
            MetadataValue::F32(v) => Ok(*v),
            _ => err("type"),
        }
    }
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        match self.get(key)? {
            MetadataValue::String(v) => Ok(v),
            _ => err("type"),
        }
    }
    pub fn get_array(&self, key: &str) -> Result<&[MetadataValue], GgufError> {
        match self.get(key)? {
            MetadataValue::Array(v) => Ok(v),
            _ => err("type"),
        }
    }
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

pub fn dequantize(t: GgmlType, data: &[u8], n: usize) -> Result<Vec<f32>, GgufError> {
    let mut out = Vec::with_capacity(n);
    match t {
        GgmlType::F32 => out.extend(
            data.chunks_exact(4)
                .take(n)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        ),
        GgmlType::F16 => out.extend(data.chunks_exact(2).take(n).map(f16)),
        GgmlType::Q8_0 => {
            for b in data.chunks_exact(34) {
                let d = f16(&b[0..2]);
                out.extend(b[2..].iter().map(|&q| d * (q as i8) as f32));
            }
        }
        GgmlType::Q4_1 => {
            for b in data.chunks_exact(20) {
                let d = f16(&b[0..2]);
                let m = f16(&b[2..4]);
                let qs = &b[4..];
                for &q in qs {
                    out.push(d * (q & 0x0f) as f32 + m);
                }
                let base = out.len() - 16;
                let hi: Vec<f32> = qs.iter().map(|&q| d * (q >> 4) as f32 + m).collect();
                let _ = base;
                out.extend(hi);
            }
        }
        GgmlType::Q4_0 => {
            for b in data.chunks_exact(18) {
                let d = f16(&b[0..2]);
                let qs = &b[2..];
                out.extend(qs.iter().map(|&q| d * ((q & 0x0f) as i32 - 8) as f32));
                out.extend(qs.iter().map(|&q| d * ((q >> 4) as i32 - 8) as f32));
            }
        }
        GgmlType::Other(t) => return err(format!("unsupported type {t}")),
    }
    if out.len() != n {
        return err(format!("dequantized {} of {n}", out.len()));
    }
    Ok(out)
}
