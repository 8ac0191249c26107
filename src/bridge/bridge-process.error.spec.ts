import { describe, expect, it } from 'vitest';
import { classifyStderr, troubleshootingFor } from './bridge-process.error';
import { LineRingBuffer } from './line-ring-buffer';

const bridge = {
  python: 'python3',
  script: '/app/bridge/usage_bridge.py',
  port: 8001,
  preflightImports: [],
};

describe('classifyStderr', () => {
  it('recognizes a taken port and import failures, and nothing else', () => {
    expect(classifyStderr('usage-bridge: address already in use: 127.0.0.1:8001')).toEqual({
      type: 'PORT_IN_USE',
    });
    expect(classifyStderr("ModuleNotFoundError: No module named 'yaml'")).toEqual({
      type: 'DEPENDENCY_ERROR',
      module: 'yaml',
    });
    expect(classifyStderr('ImportError: cannot import name x')).toEqual({
      type: 'DEPENDENCY_ERROR',
    });
    expect(classifyStderr('Traceback (most recent call last):')).toBeUndefined();
  });
});

describe('troubleshootingFor', () => {
  it('names what to change for each type', () => {
    expect(troubleshootingFor('PORT_IN_USE', bridge, { port: 9999 }).join(' ')).toContain(
      'lsof -i :9999',
    );
    expect(troubleshootingFor('SCRIPT_NOT_FOUND', bridge).join(' ')).toContain(
      '/app/bridge/usage_bridge.py',
    );
    expect(troubleshootingFor('PYTHON_NOT_FOUND', bridge, { version: '3.8.1' })[0]).toContain(
      '3.8.1',
    );
    expect(troubleshootingFor('DEPENDENCY_ERROR', bridge, { module: 'yaml' })[0]).toContain(
      '"yaml"',
    );
    expect(troubleshootingFor('HEALTH_CHECK_TIMEOUT', bridge).join(' ')).toContain(
      'BRIDGE_HEALTH_TIMEOUT_MS',
    );
  });
});

describe('LineRingBuffer', () => {
  it('keeps the last lines, joining lines split across chunks', () => {
    const buffer = new LineRingBuffer(3);
    expect(buffer.push('one\ntw')).toEqual(['one']);
    expect(buffer.push('o\nthree\nfour\nfi')).toEqual(['two', 'three', 'four']);
    expect(buffer.tail()).toEqual(['three', 'four', 'fi']);
  });
});
