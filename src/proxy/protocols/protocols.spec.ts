import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../usage-meter';
import { anthropicProtocol } from './anthropic';
import { geminiProtocol } from './gemini';
import { openaiProtocol } from './openai';
import { leadingModel } from './protocol';

const codex = openaiProtocol('https://api.openai.com/v1', undefined);
const gemini = geminiProtocol('https://generativelanguage.googleapis.com', undefined);
const claude = anthropicProtocol('https://api.anthropic.com', undefined);
const answered = (model: string | null) => ({ ...emptyUsage(), model });

describe('the model a proxied row is keyed and priced by', () => {
  it('reads Codex’s leading `model` without parsing the conversation, else parses the body', () => {
    const huge = Buffer.from(
      `{"model":"gpt-5.1-codex","input":"${'x'.repeat(4 * 1024 * 1024)}","note":"\\"model\\":\\"fake\\""}`,
    );
    expect(leadingModel(huge)).toBe('gpt-5.1-codex');
    expect(leadingModel(Buffer.from('{"model":"a\\"b","input":[]}'))).toBe('a"b');
    expect(leadingModel(Buffer.from('{"input":[{"model":"nested"}],"model":"gpt-5.2"}'))).toBe(
      'gpt-5.2',
    );
    expect(leadingModel(Buffer.from('not json'))).toBe('unknown');
    expect(leadingModel(undefined)).toBe('unknown');
  });

  it('is the asked model for Codex and Gemini CLI (as their logs name it), the answer’s for Claude', () => {
    const body = Buffer.from('{"model":"gpt-5","input":[]}');
    expect(codex.rowModel('/v1/responses', body, answered('gpt-5-2025-08-07'))).toBe('gpt-5');
    expect(
      gemini.rowModel('/v1beta/models/gemini-2.5-pro:generateContent', undefined, answered('x')),
    ).toBe('gemini-2.5-pro');
    expect(
      gemini.rowModel('/v1beta/models/%E0%A4%A:generateContent', undefined, answered(null)),
    ).toBe('%E0%A4%A');
    const claudeBody = Buffer.from('{"model":"claude-sonnet-4-5","max_tokens":10}');
    expect(
      claude.rowModel('/v1/messages', claudeBody, answered('claude-sonnet-4-5-20250929')),
    ).toBe('claude-sonnet-4-5-20250929');
    expect(claude.rowModel('/v1/messages', claudeBody, answered(null))).toBe('claude-sonnet-4-5');
  });
});

describe('errors the gateway answers, in each API’s shape', () => {
  it('a budget reached: a spend cap each client stops on', () => {
    expect(claude.errorBody('billing', 'over')).toEqual({
      type: 'error',
      error: { type: 'billing_error', message: 'over' },
    });
    expect(codex.errorBody('billing', 'over')).toEqual({
      error: {
        message: 'over',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    });
    expect(gemini.errorBody('billing', 'over')).toMatchObject({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ violations: [{ quotaId: expect.stringMatching(/PerDay/) }] }],
      },
    });
  });

  it('a rate reached: the wait where each client reads it', () => {
    expect(codex.errorBody('rate_limit', 'slow down.', 12)).toMatchObject({
      error: { code: 'rate_limit_exceeded', message: 'slow down. Please try again in 12s.' },
    });
    expect(gemini.errorBody('rate_limit', 'slow down.', 12)).toMatchObject({
      error: {
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }],
      },
    });
  });
});
