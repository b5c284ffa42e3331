import { describe, expect, test } from 'vitest';
import {
  renderTemplate,
  renderValue,
  TemplateError,
  templatePaths,
} from '../../../shared/automations/index.ts';

const context = {
  task: { id: 't1', title: 'Approve PO', captures: [{ value: 'first' }] },
  fields: { vendor: 'Northwind', 'approved-amount': 12500, tags: ['a', 'b'] },
  empty: '',
};

describe('templates', () => {
  test('placeholders are replaced by the values at their paths, aliases with dashes included', () => {
    expect(
      renderTemplate('{{task.title}} for {{ fields.vendor }}: {{fields.approved-amount}}', context),
    ).toBe('Approve PO for Northwind: 12500');
    expect(renderTemplate('{{task.captures.0.value}}', context)).toBe('first');
    expect(renderTemplate('no placeholders', context)).toBe('no placeholders');
  });

  test('a missing path fails with its name unless it is marked optional', () => {
    expect(() => renderTemplate('Hi {{fields.vendr}}', context)).toThrow(TemplateError);
    expect(() => renderTemplate('Hi {{fields.vendr}}', context)).toThrow(/fields\.vendr/);
    expect(renderTemplate('Hi {{fields.vendr?}}!', context)).toBe('Hi !');
    expect(renderTemplate('[{{empty}}]', context)).toBe('[]');
  });

  test('a whole-value placeholder keeps its type; objects inside text render as JSON', () => {
    expect(
      renderValue({ amount: '{{fields.approved-amount}}', list: ['{{fields.tags}}'] }, context),
    ).toEqual({
      amount: 12500,
      list: [['a', 'b']],
    });
    expect(renderTemplate('tags={{fields.tags}}', context)).toBe('tags=["a","b"]');
    expect(renderValue(42, context)).toBe(42);
  });

  test('no expression is evaluated and no prototype is reachable', () => {
    // these segment names are refused outright, even as own keys
    expect(renderTemplate('[{{constructor?}}{{task.__proto__?}}]', { constructor: 'own' })).toBe(
      '[]',
    );
    expect(() => renderTemplate('{{task.constructor}}', context)).toThrow(TemplateError);
    expect(() => renderTemplate('{{toString}}', context)).toThrow(TemplateError);
    expect(renderTemplate('{{ 1 + 1 }}', {})).toBe('{{ 1 + 1 }}');
    expect(renderTemplate('[{{process.env.HOME?}}]', {})).toBe('[]');
  });

  test('templatePaths lists every placeholder', () => {
    expect(templatePaths({ a: '{{x.y}} and {{z?}}', b: ['{{w}}'] })).toEqual(['x.y', 'z', 'w']);
  });
});
