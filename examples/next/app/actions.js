'use server';
import { getSession } from '../lib/session.js';

// A Server Action (the form's POST) may write the session; it holds the session's lease while it runs.
export async function like() {
  const session = await getSession();
  session.set('likes', (session.get('likes') ?? 0) + 1);
  await session.save();
}
