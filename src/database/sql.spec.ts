import { describe, expect, it } from 'vitest';
import { chunks, SqlParams } from './sql';

describe('SqlParams', () => {
  it('numbers PostgreSQL placeholders in order and passes a list as one array', () => {
    const p = new SqlParams('postgres');
    const sql = `WHERE a = ${p.value('x')} AND id ${p.in([1, 2, 3])} VALUES ${p.row([4, 5])}`;
    expect(sql).toBe('WHERE a = $1 AND id = ANY($2) VALUES ($3, $4)');
    expect(p.values).toEqual(['x', [1, 2, 3], 4, 5]);
    expect(p.greatest('a', 'b')).toBe('GREATEST(a, b)');
    expect(p.least('a', 'b')).toBe('LEAST(a, b)');
  });

  it('writes SQLite question marks, one per value of a list', () => {
    const p = new SqlParams('sqlite');
    const sql = `WHERE a = ${p.value('x')} AND id ${p.in([1, 2, 3])} VALUES ${p.row([4, 5])}`;
    expect(sql).toBe('WHERE a = ? AND id IN (?, ?, ?) VALUES (?, ?)');
    expect(p.values).toEqual(['x', 1, 2, 3, 4, 5]);
    expect(p.greatest('a', 'b')).toBe('MAX(a, b)');
    expect(p.least('a', 'b')).toBe('MIN(a, b)');
  });

  it('cuts a list into chunks of at most the given size', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 2)).toEqual([]);
  });
});
