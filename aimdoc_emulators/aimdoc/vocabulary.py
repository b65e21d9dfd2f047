"""Word lists for the synthetic Aimdoc data: people, companies, agents, chat lines, edge cases.

Edge cases are deliberate: quotes and backslashes, HTML and script tags, emoji, non-Latin
scripts and very long texts, the things anonymous website visitors really type.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mateo",
    "Chloé", "François", "José", "Zoë", "Søren", "Björn", "Łukasz", "Anaïs", "Jürgen", "Ines",
    "Priya", "Arjun", "Wei", "Yuki", "Hana", "Min-jun", "Fatima", "Omar", "Amara", "Kwame",
    "Mariana", "Diego", "Hannah", "Jonas", "Elif", "Mehmet", "Aoife", "Niamh", "Ravi", "Lena",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Martinez", "Brown", "Müller", "Schmidt", "Dubois", "Rossi",
    "Nguyễn", "Kowalski", "Andersson", "Jensen", "Tanaka", "Sato", "Kim", "Patel", "Sharma",
    "Okafor", "Mensah", "Silva", "Costa", "van der Berg", "de la Cruz", "Smith-Jones",
    "O'Neill", "D'Angelo", "MacDonald", "Yılmaz", "Novák", "Ivanova", "Haddad", "Cohen", "Lee",
)
# (first, last, email local part or None for the default): forced into small data sets.
EDGE_PEOPLE = (
    ("Siobhán", "O'Brien", "o'brien"),
    ('Chris "CJ"', "Tay\\lor", '"chris\\\\taylor"'),
    ("伟", "李", "li.wei"),
    ("Иван", "Петров", "ivan.petrov"),
    ("محمد", "الحسن", "m.alhassan"),
    ("<b>Robert</b>", "Tables'); --", "bobby.tables"),
)

COMPANY_HEADS = (
    "North", "Blue", "Bright", "Iron", "Silver", "Summit", "Vertex", "Harbor", "Quantum",
    "Cedar", "Apex", "Nimbus", "Lumen", "Orbit", "Granite", "Maple", "Falcon", "Atlas",
    "Pioneer", "Crescent", "Red", "Evergreen", "Polar", "Copper",
)
COMPANY_TAILS = ("wind", "peak", "stone", "field", "bridge", "line", "works", "gate", "path",
                 "forge", "leaf", "point", "wave", "rock")
INDUSTRIES = (
    "Analytics", "Logistics", "Health", "Software", "Robotics", "Capital", "Labs", "Systems",
    "Energy", "Foods", "Media", "Security", "Manufacturing", "Education", "Retail",
)
LEGAL_FORMS = (("Inc.", ".com"), ("LLC", ".io"), ("GmbH", ".de"), ("Ltd", ".co.uk"),
               ("SAS", ".fr"), ("B.V.", ".nl"), ("AB", ".se"), ("Pty Ltd", ".com.au"),
               ("", ".co"), ("", ".ai"))
# (name, domain, industry): forced companies with awkward names.
EDGE_COMPANIES = (
    ("Müller & Söhne Maschinenbau GmbH", "mueller-soehne.de", "Manufacturing"),
    ("株式会社サクラテック", "sakuratech.co.jp", "Software"),
    ("O'Reilly & Daughters", "oreilly-daughters.com", "Retail"),
    ('"Quoted" Consulting LLC', "quoted-consulting.com", "Consulting"),
    ("Ωmega Systems", "omega-systems.gr", "Systems"),
)
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5000+")
JOB_TITLES = (
    "VP of Sales", "Head of Marketing", "CTO", "Operations Manager", "Founder & CEO",
    "Procurement Lead", "Software Engineer", "Director of Growth", "Customer Success Manager",
    "IT Administrator", "Head of RevOps", "Product Manager", "CFO", "Marketing Coordinator",
)
FREE_MAIL_DOMAINS = (
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me",
    "gmx.de", "aol.com", "web.de", "yahoo.co.jp", "live.com", "mail.ru",
)
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "JP", "IN", "BR", "AU", "CA", "ES", "NG")
CITIES = ("Berlin", "Austin", "London", "Paris", "Tokyo", "São Paulo", "Lagos", "Sydney",
          "Toronto", "Bengaluru", "Stockholm", "Madrid", "Zürich", "Kraków")
BROWSERS = ("Chrome", "Safari", "Firefox", "Edge")
UTM_SOURCES = (("google", "cpc"), ("linkedin", "paid_social"), ("newsletter", "email"),
               ("g2", "referral"), ("direct", None), ("bing", "cpc"))
CAMPAIGNS = ("q1-pipeline", "brand", "retargeting", "webinar-2026", None)
PAGES = ("/", "/pricing", "/demo", "/product/analytics", "/customers", "/blog/ai-sdr",
         "/integrations/salesforce", "/security")
REFERRERS = ("https://www.google.com/", "https://www.linkedin.com/", None,
             "https://news.ycombinator.com/", "https://www.g2.com/")

AGENT_NAMES = ("Website Concierge", "Sales Assistant", "Pricing Guide", "Demo Scheduler",
               "Support Agent", "Partner Desk")
REPS = ("Sam Rivera", "Priya Natarajan", "Jonas Becker", "Mei Lin", "Tomás Ferreira")
# (question_id, question, possible answers)
QUESTIONS = (
    ("q_company_size", "How many people work at your company?", COMPANY_SIZES),
    ("q_timeline", "When are you looking to get started?",
     ("This month", "This quarter", "Next quarter", "Just researching")),
    ("q_budget", "Do you have a budget set aside?",
     ("Yes, approved", "Not yet", "Under $10k", "$10k-$50k", "Over $50k")),
    ("q_use_case", "What are you hoping to solve?",
     ("Qualify inbound leads", "Book more demos", "Answer pricing questions 24/7",
      "Replace our contact form", 'Our "chat" widget is <b>useless</b>')),
    ("q_role", "What's your role?", JOB_TITLES),
    ("q_crm", "Which CRM do you use?", ("Salesforce", "HubSpot", "Pipedrive", "None")),
)
ESCALATION_REASONS = ("Visitor asked for a human", "Enterprise pricing request",
                      "Complaint about billing", "Security questionnaire")
BUYER_INTENT_REASONS = ("Asked about pricing for 50+ seats", "Requested a demo this week",
                        "Compared us with a competitor", "Asked about contract terms")

GREETINGS = ("Hi! 👋 I'm the {agent}. What brings you here today?",
             "Hello and welcome! How can I help you today?",
             "Hey there! Looking for anything in particular?")
USER_LINES = (
    "How much does it cost?", "Do you integrate with Salesforce?",
    "Can I see a demo?", "Is there a free trial?", "What's the difference between plans?",
    "Do you support SSO?", "Where is my data stored?", "Can it qualify leads automatically?",
    "We get about 20k visitors a month, is that ok?", "ok thanks", "hmm, not sure yet",
    "Can you send me the security docs?", "How long does setup take?", "yes", "no",
)
ASSISTANT_LINES = (
    "Great question! Our plans start at $99/month; Convert includes API access.",
    "Yes, we sync qualified leads to Salesforce and HubSpot.",
    "Absolutely, I can book a demo for you. What time works best?",
    "Setup usually takes under 15 minutes: paste the snippet and train the agent.",
    "Data is stored in the EU or US, your choice.",
    "I can help with that. Could you tell me a bit more about your team?",
    "Here's a link to our pricing page: https://example.com/pricing?ref=chat&plan=\"convert\"",
)
HUMAN_LINES = ("Hi, {rep} here, I've taken over from the assistant.",
               "Let me check that with our solutions team.",
               "I've sent you a calendar invite, talk soon!",
               "Happy to help, what's the best number to reach you?")
EDGE_MESSAGES = (
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(document.cookie)>',
    "<b>Bold</b> and <a href=\"javascript:alert(1)\">a link</a> &amp; &lt;tags&gt;",
    "Robert'); DROP TABLE Leads;-- is my company's name",
    'Path C:\\Users\\jane\\Documents\\quote.pdf and a "quoted" \'word\' and a literal \\n',
    "Great, thanks! 🚀🔥👍🏽 🧑🏽‍💻 see you 👋",
    "こんにちは、価格について教えてください。",
    "Здравствуйте! Есть ли интеграция с Salesforce?",
    "مرحبا، هل لديكم تجربة مجانية؟",
    "नमस्ते, क्या आप डेमो दिखा सकते हैं?",
    "Zoe\u0308 vs Zoë, zero\u200bwidth and a tab\there",
    "line one\nline two\r\nline three\n\n",
    "null",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝔣𝔞𝔫𝔠𝔶 𝔱𝔢𝔵𝔱",
)
LONG_PARAGRAPH = (
    "We are evaluating tools for our inbound funnel. Our current process routes every form "
    "fill to an SDR, which takes hours, and half the leads are students or competitors. "
    "We need something that qualifies on company size, budget and timeline, books meetings, "
    "and writes everything into Salesforce with the transcript attached. "
)
DATA_CAPTURE_FIELDS = ("company_size", "budget_usd", "wants_demo", "interested_in", "country",
                       "timeline", "seats", "use_case", "newsletter_opt_in", "current_tool")
PRODUCTS = ("Analytics", "API", "Chat", "Routing", "Scheduling")
