import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireSettings } from '../../src/main/config';

describe('configuration', () => {
  it('has defaults that run locally', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, publicBaseUrl: 'http://localhost:3000', temporal: { address: '127.0.0.1:7233', namespace: 'default' } });
  });

  it('stops with one line naming the bad setting', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^invalid configuration: PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow('invalid configuration: DATABASE_URL: DATABASE_URL must be a URL');
    expect(() => loadConfig({ TOKEN_SECRET: 'short' })).toThrow(/TOKEN_SECRET must be at least 32 characters/);
  });

  it('names every setting a production command is missing', () => {
    expect(() => requireSettings(loadConfig({}), ['databaseUrl', 'tokenSecret'])).toThrow('invalid configuration: DATABASE_URL, TOKEN_SECRET must be set');
  });
});
