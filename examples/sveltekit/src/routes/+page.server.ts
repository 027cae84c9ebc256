import type { Actions, ServerLoad } from '@sveltejs/kit';

// The page reads the session; its form's action (a POST: it holds the session's lease) changes it.
export const load: ServerLoad = ({ locals }) => ({
  views: locals.session.get<number>('views') ?? 0,
  likes: locals.session.get<number>('likes') ?? 0,
});

export const actions: Actions = {
  default: ({ locals }) => {
    locals.session.set('likes', (locals.session.get<number>('likes') ?? 0) + 1);
  },
};
