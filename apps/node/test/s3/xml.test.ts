import { describe, expect, it } from 'vitest';
import { childArray, childText, parseXmlBody, toXml } from '../../src/s3/xml.js';

describe('S3 XML', () => {
  it('escapes text in answers', () => {
    expect(toXml('R', { Key: `a&b<c>"'` })).toContain('<Key>a&amp;b&lt;c&gt;&quot;&apos;</Key>');
  });

  it('keeps keys exactly: no number parsing, no trimming, entities and numeric references decoded once', () => {
    // Go's encoding/xml (rclone) writes quotes as &#34;.
    const doc = parseXmlBody(
      '<Delete><Object><Key> 0123 </Key></Object><Object><Key>&#34;q&#34; &amp;#34; &lt;</Key></Object></Delete>',
      'Delete',
    );
    expect(childArray(doc, 'Object').map((o) => childText(o, 'Key'))).toEqual([' 0123 ', '"q" &#34; <']);
  });

  it('refuses DTDs, other roots and malformed XML', () => {
    expect(() => parseXmlBody('<!DOCTYPE x [<!ENTITY a "b">]><Delete/>', 'Delete')).toThrow(/DTD/);
    expect(() => parseXmlBody('<Other/>', 'Delete')).toThrow(/Delete/);
    expect(() => parseXmlBody('<Delete><Object>', 'Delete')).toThrow(/well-formed/);
  });
});
