/**
 * Measures the encoding-detection rule of lib/data/encoding.ts on real Korean text, to back the figures
 * its header quotes: NSMC's 50,000 test reviews (from the shipped CP949 file), written 1 and 3 reviews to
 * a file,
 *   - as UTF-8 with every 1- to (n−1)-byte loss inside every n-byte character: how many are read as
 *     CP949 (must be 0: a damaged UTF-8 file is an error, never mojibake);
 *   - as CP949: how many are refused, and how many are valid UTF-8 (rule 2 reads those as UTF-8).
 * Run: node --import tsx scripts/measure-encoding-rule.ts   (about 3 minutes on one core)
 * Ends with one line of JSON holding the figures.
 */
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { detectEncoding, isValidUtf8 } from '../lib/data/encoding.js';

const reviews = iconv.decode(readFileSync('data/nsmc/ratings_test.cp949.txt'), 'cp949').split('\r\n').slice(1);

interface Figures {
  reviewsPerFile: number;
  tornUtf8Files: number;
  tornReadAsCp949: number;
  cp949Files: number;
  cp949Refused: number;
  cp949ValidUtf8: number;
}

function measure(reviewsPerFile: number): Figures {
  const figures: Figures = { reviewsPerFile, tornUtf8Files: 0, tornReadAsCp949: 0, cp949Files: 0, cp949Refused: 0, cp949ValidUtf8: 0 };
  for (let i = 0; i + reviewsPerFile <= reviews.length; i += reviewsPerFile) {
    const text = reviews.slice(i, i + reviewsPerFile).join('\n') + '\n';
    const cp949 = iconv.encode(text, 'cp949');
    figures.cp949Files++;
    if (isValidUtf8(cp949)) figures.cp949ValidUtf8++;
    else {
      try {
        detectEncoding(cp949);
      } catch {
        figures.cp949Refused++;
      }
    }
    const utf8 = Buffer.from(text);
    for (let start = 0; start < utf8.length; start++) {
      const lead = utf8[start];
      if (lead < 0xc0) continue;
      const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      for (let lost = 1; lost < length; lost++) {
        const torn = Buffer.concat([utf8.subarray(0, start + length - lost), utf8.subarray(start + length)]);
        figures.tornUtf8Files++;
        try {
          if (detectEncoding(torn) !== 'utf-8') figures.tornReadAsCp949++;
        } catch {
          // refused: what a damaged file should get
        }
      }
    }
  }
  return figures;
}

const started = performance.now();
const results = [measure(1), measure(3)];
for (const r of results) {
  console.log(
    `${r.reviewsPerFile} review(s) a file: ${r.tornReadAsCp949} of ${r.tornUtf8Files} torn UTF-8 files read as CP949; ` +
      `of ${r.cp949Files} CP949 files ${r.cp949Refused} refused, ${r.cp949ValidUtf8} valid UTF-8`,
  );
}
console.log(JSON.stringify({ results, seconds: Math.round((performance.now() - started) / 100) / 10 }));
