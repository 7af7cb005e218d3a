import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../common/redact';

describe('redactUrl', () => {
  it('drops credentials, query and fragment, keeping where the URL points', () => {
    expect(redactUrl('https://hooks.example.com/intake?token=s3cr3t&x=1')).toBe(
      'https://hooks.example.com/intake?[redacted]',
    );
    expect(redactUrl('postgresql://intake:hunter2@db.internal:5432/intake')).toBe(
      'postgresql://***:***@db.internal:5432/intake',
    );
    expect(redactUrl('https://example.com/a#secret')).toBe('https://example.com/a');
    expect(redactUrl('https://example.com/plain')).toBe('https://example.com/plain');
    expect(redactUrl('not a url with token=1')).toBe('[not a URL]');
  });
});
