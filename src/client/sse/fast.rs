//! The fast path of `sse::decode_data`: a single scan of the completion chunk every server
//! streams once per token (`{"id":..,"choices":[{"index":0,"text":"..","finish_reason":null}]}`
//! or its chat form with `delta.content`), giving its text and whether it finished. Anything
//! it is not sure of (an escape in a string, `usage`, `timings`, `error`, a nested value it
//! does not know, a duplicate field, a malformed number) makes it give up, and serde decodes
//! the event instead: its answer, when it gives one, is serde's (tested against it).

/// The text and finish of a plain completion chunk, or `None`: let serde decode it.
pub(super) fn scan(data: &str) -> Option<(String, bool)> {
    let mut c = Cur {
        s: data,
        b: data.as_bytes(),
        i: 0,
    };
    let mut out: Option<(String, bool)> = None;
    c.object(|c, key| match key {
        "choices" if out.is_none() => {
            out = Some(choices(c)?);
            Some(())
        }
        "choices" | "usage" | "error" | "timings" => None,
        _ => c.scalar(),
    })?;
    c.ws();
    (c.i == c.b.len()).then_some(())?;
    out
}

/// `[choice, ...]`: each choice's `text`, then its delta's `reasoning_content`, `reasoning`
/// and `content` (the order serde's path appends them in), and whether any finished.
fn choices(c: &mut Cur<'_>) -> Option<(String, bool)> {
    let mut text = String::new();
    let mut finished = false;
    c.eat(b'[')?;
    if c.peek()? == b']' {
        c.i += 1;
        return Some((text, finished));
    }
    loop {
        // text, reasoning_content, reasoning, content; finish_reason
        let mut parts: [Option<&str>; 4] = [None; 4];
        let mut seen = [false; 3]; // text, delta, finish_reason
        c.object(|c, key| {
            let slot = match key {
                "text" => 0,
                "delta" => 1,
                "finish_reason" => 2,
                _ => return c.scalar(),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return None; // serde refuses a duplicate field
            }
            match slot {
                0 => parts[0] = c.null_or_str()?,
                1 => {
                    if c.peek()? == b'n' {
                        return c.literal(b"null");
                    }
                    let mut dseen = [false; 3];
                    c.object(|c, key| {
                        let k = match key {
                            "reasoning_content" => 0,
                            "reasoning" => 1,
                            "content" => 2,
                            _ => return c.scalar(),
                        };
                        if std::mem::replace(&mut dseen[k], true) {
                            return None;
                        }
                        parts[1 + k] = c.null_or_str()?;
                        Some(())
                    })?;
                }
                _ => finished |= c.null_or_str()?.is_some(),
            }
            Some(())
        })?;
        for p in parts.into_iter().flatten() {
            if text.is_empty() {
                text = p.to_owned();
            } else {
                text.push_str(p);
            }
        }
        match c.peek()? {
            b',' => c.i += 1,
            b']' => {
                c.i += 1;
                return Some((text, finished));
            }
            _ => return None,
        }
    }
}

/// A cursor over JSON bytes; every method returns `None` on anything it does not accept.
struct Cur<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    /// Skips JSON whitespace (the four characters JSON allows, as serde does).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string without escapes or control characters, borrowed.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let s = self.s.get(start..self.i)?; // cut at ASCII quotes: on char boundaries
        self.i += 1;
        Some(s)
    }

    fn null_or_str(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.str().map(Some)
    }

    /// A string, number, `true`, `false` or `null`, skipped.
    fn scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.str().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, JSON's number.
    fn number(&mut self) -> Option<()> {
        let digits = |c: &mut Self| {
            let start = c.i;
            while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            (c.i > start).then_some(())
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
            if self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        } else {
            digits(self)?;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    /// `{"key": value, ...}`, calling `field` with the cursor on each value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}
