import postgres from 'postgres';
import { getSql } from '#app/db/client.server.ts';

// Every audit entry the suites produce names its staff actor with the roles that staff member held
// at that moment (issue 10: the staff-admin routes once recorded an empty list). A trigger on the
// intake, installed in the test template only, compares each entry's `actor.roles` with the roles
// the writing transaction sees; useTestDatabase() fails the file when any entry disagreed.
// Made-up actors (no account behind the id) are not checked.

export async function installActorRoleCheck(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`
      create table public.actor_role_mismatches (
        action text not null, staff_id uuid not null, recorded text[] not null, held text[] not null);
      grant insert, select, delete on public.actor_role_mismatches to public;
      create function public.check_actor_roles() returns trigger language plpgsql
      security definer set search_path = pg_catalog as $$
      declare
        entry jsonb;
        staff uuid;
        recorded text[];
        held text[];
      begin
        begin
          entry := convert_from(new.body, 'UTF8')::jsonb;
        exception when others then
          return new;  -- not JSON: the sequencer's problem, not this check's
        end;
        if jsonb_typeof(entry->'actor') <> 'object' then return new; end if;
        staff := (entry->'actor'->>'staffId')::uuid;
        if not exists (select 1 from console.staff s where s.id = staff) then return new; end if;
        recorded := array(select jsonb_array_elements_text(entry->'actor'->'roles') order by 1);
        held := array(select r.role_code::text from console.staff_roles r
                       where r.staff_id = staff order by 1);
        if recorded is distinct from held then
          insert into public.actor_role_mismatches values (entry->>'action', staff, recorded, held);
        end if;
        return new;
      end $$;
      create trigger check_actor_roles after insert on console.audit_intake
        for each row execute function public.check_actor_roles();`);
  } finally {
    await sql.end();
  }
}

export interface ActorRoleMismatch {
  action: string;
  staff_id: string;
  recorded: string[];
  held: string[];
}

/** The entries of this file's database whose actor's roles were not the ones held. */
export async function actorRoleMismatches(): Promise<ActorRoleMismatch[]> {
  return getSql()<ActorRoleMismatch[]>`
    select action, staff_id, recorded, held from public.actor_role_mismatches`;
}

export async function assertActorRoles() {
  const wrong = await actorRoleMismatches();
  if (wrong.length) {
    throw new Error(
      `audit entries whose actor's roles are not the roles held when they were written:\n${wrong
        .slice(0, 10)
        .map(
          (w) =>
            `  ${w.action} by ${w.staff_id}: recorded [${w.recorded.join(', ')}], held [${w.held.join(', ')}]`,
        )
        .join('\n')}`,
    );
  }
}
