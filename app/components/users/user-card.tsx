import type { UserCardView } from '#app/modules/users/lookup.ts';
import { utcDate } from '#app/components/time.tsx';

// The lookup card: only what is kept in clear for finding a user, never anything decrypted.

export function UserCardFacts({ card }: { card: UserCardView }) {
  return (
    <dl className="facts" data-testid="user-card">
      <dt>User id</dt>
      <dd>
        <code>{card.id}</code>
      </dd>
      <dt>Email</dt>
      <dd>
        {card.emailMasked} <span className="muted">(masked)</span>
      </dd>
      <dt>Country</dt>
      <dd>{card.country}</dd>
      <dt>Plan</dt>
      <dd>{card.plan}</dd>
      <dt>Account age</dt>
      <dd>
        {card.accountAge} <span className="muted">(since {utcDate(card.createdAt)})</span>
      </dd>
      <dt>Status</dt>
      <dd>
        <span className={`badge ${card.status === 'active' ? 'active' : 'disabled'}`}>
          {card.status}
        </span>
      </dd>
    </dl>
  );
}
