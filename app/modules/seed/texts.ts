import type { Country, Locale, Model, Plan, UsageKind } from '#app/modules/vocabulary.ts';

// Weights and texts the generator draws from. Keys are typed against the vocabularies, so a
// vocabulary change that these tables miss fails the type check.

export const COUNTRY_WEIGHTS: Record<Country, number> = {
  US: 30, IN: 8, GB: 6, DE: 5, BR: 5, FR: 4, CA: 4, JP: 3, MX: 2.5, ES: 2.2, IT: 2, KR: 2,
  AU: 2, ID: 1.8, PH: 1.6, NL: 1.5, TR: 1.4, PL: 1.2, VN: 1.1, NG: 1, PK: 1, CN: 0.9, TW: 0.8,
  SE: 0.8, CH: 0.7, BE: 0.7, AR: 0.7, CO: 0.7, EG: 0.6, SG: 0.6, TH: 0.6, MY: 0.6, IL: 0.6,
  ZA: 0.6, AE: 0.5, SA: 0.5, BD: 0.5, UA: 0.5, KE: 0.4, CL: 0.4, AT: 0.4, PT: 0.4, IE: 0.4,
  NO: 0.3, DK: 0.3, FI: 0.3, CZ: 0.3, RO: 0.3, GR: 0.3, NZ: 0.3,
}; // prettier-ignore

export const COUNTRY_LOCALES: Record<Country, Locale> = {
  US: 'en-US', CA: 'en-US', MX: 'es-ES', BR: 'pt-BR', AR: 'es-ES', CL: 'es-ES', CO: 'es-ES',
  GB: 'en-GB', IE: 'en-GB', FR: 'fr-FR', DE: 'de-DE', NL: 'nl-NL', BE: 'nl-NL', ES: 'es-ES',
  PT: 'pt-BR', IT: 'it-IT', CH: 'de-DE', AT: 'de-DE', SE: 'sv-SE', NO: 'en-GB', DK: 'en-GB',
  FI: 'en-GB', PL: 'pl-PL', CZ: 'en-GB', RO: 'en-GB', GR: 'en-GB', TR: 'tr-TR', IL: 'he-IL',
  EG: 'ar-EG', NG: 'en-GB', KE: 'en-GB', ZA: 'en-GB', AE: 'ar-EG', SA: 'ar-EG', IN: 'hi-IN',
  PK: 'en-GB', BD: 'en-GB', ID: 'en-US', PH: 'en-US', VN: 'en-US', TH: 'en-US', MY: 'en-GB',
  SG: 'en-GB', JP: 'ja-JP', KR: 'ko-KR', CN: 'zh-CN', TW: 'zh-CN', AU: 'en-GB', NZ: 'en-GB',
  UA: 'en-GB',
}; // prettier-ignore

/** International calling codes, for phone numbers. */
export const CALLING_CODES: Record<Country, string> = {
  US: '1', CA: '1', MX: '52', BR: '55', AR: '54', CL: '56', CO: '57', GB: '44', IE: '353',
  FR: '33', DE: '49', NL: '31', BE: '32', ES: '34', PT: '351', IT: '39', CH: '41', AT: '43',
  SE: '46', NO: '47', DK: '45', FI: '358', PL: '48', CZ: '420', RO: '40', GR: '30', TR: '90',
  IL: '972', EG: '20', NG: '234', KE: '254', ZA: '27', AE: '971', SA: '966', IN: '91', PK: '92',
  BD: '880', ID: '62', PH: '63', VN: '84', TH: '66', MY: '60', SG: '65', JP: '81', KR: '82',
  CN: '86', TW: '886', AU: '61', NZ: '64', UA: '380',
}; // prettier-ignore

/** Where marketing needs consent first (opt-in), so its default is "not allowed". */
export const OPT_IN_MARKETING = new Set<Country>([
  'GB', 'IE', 'FR', 'DE', 'NL', 'BE', 'ES', 'PT', 'IT', 'CH', 'AT', 'SE', 'NO', 'DK', 'FI', 'PL',
  'CZ', 'RO', 'GR',
]); // prettier-ignore

export const PLAN_WEIGHTS: Record<Plan, number> = {
  free: 72,
  plus: 17,
  pro: 6,
  team: 4,
  enterprise: 1,
};

/** Paying users chat more. */
export const PLAN_ACTIVITY: Record<Plan, number> = {
  free: 1,
  plus: 2.5,
  pro: 4,
  team: 3,
  enterprise: 3,
};

export const PLAN_MODELS: Record<Plan, Partial<Record<Model, number>>> = {
  free: { 'orca-mini': 6, 'orca-1': 4 },
  plus: { 'orca-1': 3, 'orca-2': 5, 'orca-2-vision': 1, 'orca-reasoner': 1 },
  pro: { 'orca-1': 1, 'orca-2': 4, 'orca-2-vision': 2, 'orca-reasoner': 4 },
  team: { 'orca-1': 1, 'orca-2': 5, 'orca-2-vision': 2, 'orca-reasoner': 2 },
  enterprise: { 'orca-1': 1, 'orca-2': 5, 'orca-2-vision': 2, 'orca-reasoner': 2 },
};

export const USAGE_KIND_WEIGHTS: Record<UsageKind, number> = {
  message: 62,
  session_start: 20,
  conversation_start: 10,
  file_upload: 5,
  voice_input: 3,
};

export const EMAIL_DOMAINS: Record<string, number> = {
  'gmail.com': 34,
  'outlook.com': 8,
  'hotmail.com': 7,
  'yahoo.com': 7,
  'icloud.com': 6,
  'proton.me': 2,
  'aol.com': 1,
  'fastmail.com': 0.5,
  'mail.com': 0.5,
  'example.com': 1,
  'example.org': 0.5,
  'acme.test': 0.5,
  'northwind.example': 0.5,
};

/** Local free-mail providers, used by some of a country's users. */
export const LOCAL_DOMAINS: Partial<Record<Country, string[]>> = {
  DE: ['gmx.de', 'web.de', 't-online.de'],
  AT: ['gmx.at'],
  CH: ['bluewin.ch', 'gmx.ch'],
  FR: ['orange.fr', 'free.fr', 'laposte.net'],
  IT: ['libero.it', 'virgilio.it'],
  GB: ['btinternet.com', 'yahoo.co.uk'],
  JP: ['yahoo.co.jp', 'docomo.ne.jp'],
  KR: ['naver.com', 'daum.net'],
  CN: ['qq.com', '163.com', '126.com'],
  TW: ['yahoo.com.tw'],
  BR: ['uol.com.br', 'bol.com.br'],
  IN: ['rediffmail.com'],
  PL: ['wp.pl', 'onet.pl'],
  CZ: ['seznam.cz'],
  NL: ['ziggo.nl', 'kpnmail.nl'],
  SE: ['telia.com'],
  TR: ['yandex.com.tr'],
};

/** [title, phrase]: the conversation's title and how a user asks about it. */
export const TOPICS: readonly (readonly [string, string])[] = [
  ['Renaming files in Python', 'a Python script that renames files by date'],
  ['Sourdough starter help', 'my sourdough starter, it smells like acetone'],
  ['Cover letter draft', 'a cover letter for a junior nurse position'],
  ['TCP vs UDP', 'the difference between TCP and UDP'],
  ['Trip to Lisbon', 'a four-day itinerary for Lisbon in October'],
  ['SQL join question', 'why my LEFT JOIN returns duplicate rows'],
  ['Birthday party ideas', 'ideas for a seven-year-old’s birthday party'],
  ['Resume bullet points', 'stronger bullet points for my resume'],
  ['Excel formula', 'an Excel formula that sums values by month'],
  ['Learning Spanish', 'a study plan for learning Spanish in six months'],
  ['React useEffect loop', 'a React useEffect that keeps re-rendering'],
  ['Budget spreadsheet', 'a simple monthly budget for two people'],
  ['Email to landlord', 'a polite email to my landlord about a broken heater'],
  ['Photosynthesis summary', 'photosynthesis for a biology exam'],
  ['Marathon training', 'a 16-week marathon training plan'],
  ['Git rebase conflict', 'resolving a merge conflict during git rebase'],
  ['Vegetarian meal prep', 'vegetarian meal prep for a busy week'],
  ['Wedding toast', 'a short, funny wedding toast for my sister'],
  ['Docker networking', 'why two Docker containers cannot reach each other'],
  ['Tax deduction question', 'whether home office costs are deductible'],
  ['Poem about autumn', 'a short poem about autumn in the city'],
  ['Kubernetes CrashLoopBackOff', 'a pod stuck in CrashLoopBackOff'],
  ['Negotiating salary', 'how to negotiate a job offer'],
  ['Regex for emails', 'a regular expression that validates email addresses'],
  ['Dog training tips', 'stopping my puppy from biting'],
  ['Physics homework', 'a projectile motion problem from my homework'],
  ['Product description', 'a product description for handmade candles'],
  ['Sleep schedule', 'fixing my sleep schedule after night shifts'],
  ['Rust borrow checker', 'a Rust borrow checker error with a mutable reference'],
  ['Business plan outline', 'an outline for a small bakery business plan'],
  ['Plant care', 'why the leaves of my monstera are turning yellow'],
  ['Statistics question', 'when to use a t-test instead of a chi-square test'],
  ['Bash script', 'a bash script that backs up a folder every night'],
  ['Book recommendations', 'books similar to The Name of the Wind'],
  ['Apology message', 'an apology message to a friend I let down'],
  ['CSS grid layout', 'a responsive three-column CSS grid'],
  ['Car maintenance', 'what a squeaking noise when braking means'],
  ['Meeting summary', 'summarising the notes from our planning meeting'],
  ['Interview prep', 'common behavioural interview questions'],
  ['Japanese grammar', 'the difference between は and が'],
  ['Chess openings', 'a solid chess opening for beginners'],
  ['Home workout', 'a 20-minute home workout without equipment'],
  ['Unit conversion', 'converting a recipe from cups to grams'],
  ['Linked list reversal', 'reversing a linked list in Java'],
  ['Gift ideas', 'a gift for my dad who likes fishing'],
  ['Climate change essay', 'an essay outline on climate adaptation'],
  ['API rate limiting', 'designing rate limiting for a public API'],
  ['Translating a letter', 'translating a letter to my grandmother into Portuguese'],
  ['Mortgage calculation', 'how much a 30-year mortgage would cost per month'],
  ['Garden planning', 'what vegetables to plant in early spring'],
];

export const LOCAL_TOPICS: Partial<Record<Locale, readonly (readonly [string, string])[]>> = {
  'de-DE': [
    ['Bewerbung schreiben', 'ein Anschreiben für eine Stelle als Elektriker'],
    ['Steuererklärung', 'welche Belege ich für die Steuererklärung brauche'],
    ['Urlaub in Österreich', 'eine Wanderroute in Tirol für drei Tage'],
  ],
  'fr-FR': [
    ['Lettre de motivation', 'une lettre de motivation pour un stage'],
    ['Recette de crêpes', 'une recette de crêpes sans œufs'],
    ['Révision du bac', 'un plan de révision pour le bac de philo'],
  ],
  'es-ES': [
    ['Receta de paella', 'una receta de paella para seis personas'],
    ['Correo al jefe', 'un correo a mi jefe pidiendo vacaciones'],
    ['Ejercicio de álgebra', 'un ejercicio de álgebra con ecuaciones cuadráticas'],
  ],
  'pt-BR': [
    ['Currículo', 'como melhorar meu currículo para vagas de TI'],
    ['Viagem ao Nordeste', 'um roteiro de viagem por Recife e Olinda'],
    ['Redação do ENEM', 'uma redação do ENEM sobre mobilidade urbana'],
  ],
  'ja-JP': [
    ['履歴書の書き方', '転職用の履歴書の書き方'],
    ['京都旅行', '京都で二日間の観光プラン'],
    ['英語のメール', '取引先への英語のお礼メール'],
  ],
  'zh-CN': [
    ['周报模板', '一份简洁的工作周报模板'],
    ['Python 数据分析', '用 pandas 统计每个月的销售额'],
    ['旅行计划', '去成都五天的旅行计划'],
  ],
  'ko-KR': [
    ['자기소개서', '신입 개발자 자기소개서 첨삭'],
    ['제주도 여행', '제주도 3박 4일 여행 코스'],
  ],
  'ar-EG': [
    ['رسالة تقديم', 'رسالة تقديم لوظيفة محاسب'],
    ['وصفة كشري', 'وصفة كشري مصري سهلة'],
  ],
  'he-IL': [
    ['קורות חיים', 'שיפור קורות החיים שלי למשרת מפתח'],
    ['טיול בצפון', 'מסלול טיול בגליל לסוף שבוע'],
  ],
  'hi-IN': [
    ['निबंध लेखन', 'पर्यावरण पर एक छोटा निबंध'],
    ['नौकरी का आवेदन', 'नौकरी के लिए आवेदन पत्र'],
  ],
  'tr-TR': [['İş başvurusu', 'yazılım mühendisliği için ön yazı']],
  'pl-PL': [['List motywacyjny', 'list motywacyjny na stanowisko księgowej']],
  'it-IT': [['Ricetta della carbonara', 'la vera ricetta della carbonara']],
  'nl-NL': [['Sollicitatiebrief', 'een sollicitatiebrief voor een baan als leraar']],
  'sv-SE': [['Personligt brev', 'ett personligt brev till en sjuksköterskeutbildning']],
};

export const LOCAL_OPENERS: Partial<Record<Locale, readonly string[]>> = {
  'de-DE': ['Kannst du mir helfen mit: {t}?', 'Ich brauche Hilfe bei {t}.'],
  'fr-FR': ['Peux-tu m’aider avec {t} ?', 'J’ai besoin d’aide pour {t}.'],
  'es-ES': ['¿Me ayudas con {t}?', 'Necesito ayuda con {t}.'],
  'pt-BR': ['Você pode me ajudar com {t}?', 'Preciso de ajuda com {t}.'],
  'ja-JP': ['{t}について教えてください。', '{t}を手伝ってもらえますか？'],
  'zh-CN': ['请帮我写{t}。', '关于{t}，你有什么建议？'],
  'ko-KR': ['{t} 좀 도와줄 수 있어?', '{t}에 대해 알려줘.'],
  'ar-EG': ['ممكن تساعدني في {t}؟', 'أحتاج مساعدة في {t}.'],
  'he-IL': ['אתה יכול לעזור לי עם {t}?', 'אני צריך עזרה ב{t}.'],
  'hi-IN': ['क्या आप {t} में मदद कर सकते हैं?'],
  'tr-TR': ['{t} konusunda yardım eder misin?'],
  'pl-PL': ['Pomożesz mi z: {t}?'],
  'it-IT': ['Mi aiuti con {t}?'],
  'nl-NL': ['Kun je me helpen met {t}?'],
  'sv-SE': ['Kan du hjälpa mig med {t}?'],
};

export const OPENERS = [
  'Can you help me with {t}?',
  'How do I approach {t}?',
  'Explain {t} like I’m five.',
  'What’s the best way to handle {t}?',
  'I’m stuck on {t}. Any ideas?',
  'Give me three tips for {t}.',
  'Quick question about {t}',
  'hey, need help with {t} asap',
  'Could you write {t} for me?',
  'I need some advice on {t}. Where should I start?',
];

export const FOLLOW_UPS = [
  'Thanks! Can you make it shorter?',
  'What about edge cases?',
  'Could you give a concrete example?',
  'That didn’t work, I get: TypeError: Cannot read properties of undefined (reading "map")',
  'Can you explain the second point in more detail?',
  'Perfect, thank you!',
  'Make it more formal please.',
  'Is there a simpler way?',
  'ok and what if I only have an hour?',
  'Can you put that in a table?',
  'Why is that better than the alternative?',
  'Translate that into Spanish.',
  'great. one more thing — how would I test it?',
  'Hmm, I don’t think that’s right. Can you double-check?',
];

export const ANSWER_OPENERS = [
  'Sure! Here’s a straightforward way to do it.',
  'Good question.',
  'Here’s a short overview.',
  'There are a few options, depending on what you need.',
  'Let’s break it down step by step.',
  'You’re right, I made a mistake earlier.',
  'Happy to help.',
];

export const ANSWER_SENTENCES = [
  'Start with the simplest version that works, then refine it.',
  'The key point is to keep the inputs and the outputs clearly separated.',
  'Most people run into this because of a small configuration detail.',
  'If that does not help, check the logs for the first error, not the last one.',
  'A common mistake is to change several things at once, which makes it hard to see what helped.',
  'You can usually do this in under an hour.',
  'Keep a note of what you tried, so you can undo it later.',
  'This approach also scales well if your needs grow.',
  'Be careful with time zones: store everything in UTC and convert only for display.',
  'As a rule of thumb, aim for clarity first and performance second.',
  'The official documentation has a good section on this.',
  'Ask yourself what would happen if the input were empty.',
  'For a beginner, the second option is usually easier to maintain.',
  'It helps to write down the goal in one sentence before you begin.',
  'If you share more details, I can tailor the answer.',
  'Try it on a small example first.',
  'Remember to take breaks; the answer often becomes obvious afterwards.',
  'This is a matter of taste, but consistency matters more than the choice itself.',
];

export const ANSWER_LISTS = [
  '\n\n1. Gather what you need.\n2. Do the smallest useful step.\n3. Check the result and adjust.',
  '\n\n- Pros: simple, fast to set up.\n- Cons: harder to change later.',
  '\n\n```python\nfor path in sorted(folder.iterdir()):\n    print(path.name)\n```',
  '\n\n```sql\nselect user_id, count(*) from orders group by user_id;\n```',
  '\n\n| Option | Effort | Cost |\n| --- | --- | --- |\n| A | low | free |\n| B | medium | $10/month |',
];

export const SYSTEM_PROMPTS = [
  'You are a helpful assistant for the Acme support team. Answer briefly.',
  'You are a careful reviewer. Point out problems before suggesting fixes.',
  'Respond only in formal English.',
];

const LONG_UNIT = 'Lorem ipsum ✓ dolor — sit amet <b>&amp;</b> ';

/**
 * Values chosen to break careless code: markup, SQL, direction and zero-width tricks, very long
 * and astral-plane text. Hostile users carry them in names, titles and messages.
 */
export const HOSTILE_VALUES = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  'Adm\u200Bin\u200D \u202Egnp.exe\u202C \uFEFFzero\u200Cwidth',
  LONG_UNIT.repeat(Math.ceil(5000 / LONG_UNIT.length)).slice(0, 5000),
  'Zoë 😀👩‍👩‍👧‍👦🇯🇵🏳️‍🌈 \u{1F9D1}\u200D\u{1F4BB}',
  'Robert\\"); \\\\ tab\there\nnew line\r\nend',
] as const;

/** Typed into a chat by a careless user: the redaction feature has to find these. */
export const CARD_NUMBER_MESSAGES = [
  'My card 4111 1111 1111 1111 was declined, exp 12/29, can you check why?',
  'is 5500-0000-0000-0004 a valid mastercard test number?',
  'I paid with 378282246310005 but got charged twice',
];
