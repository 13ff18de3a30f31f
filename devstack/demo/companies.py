"""The demo's companies: fictional Sydney B2B SaaS businesses with realistic sites (phone numbers from the
ranges ACMA reserves for fiction, 02 5550 xxxx and 0491 570 xxx), and the LinkedIn company pages the
demo search provider returns as data. One LinkedIn company (Redfern Robotics) has no website."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Company:
    key: str
    name: str
    tagline: str
    description: str
    style: str  # "modern", "classic" or "onepage": three ways sites are built
    emails_html: tuple[str, ...]  # how the site shows its addresses (links, text, obfuscated)
    phones_html: tuple[str, ...]
    linkedin_href: str | None = None  # the company page link in the site's footer
    about_path: str = "/about"
    contact_path: str = "/contact"
    about_text: str = ""
    robots: str | None = "User-agent: *\nAllow: /\n"
    socials: tuple[str, ...] = ()
    extra_paths: tuple[str, ...] = field(default=())


COMPANIES: tuple[Company, ...] = (
    Company(
        key="harbourline",
        name="Harbourline Software",
        tagline="Workflow automation for enterprise operations teams",
        description="Harbourline Software builds workflow automation for enterprise operations teams across Australia and New Zealand.",
        style="modern",
        emails_html=(
            '<a href="mailto:hello@harbourline.com.au">hello@harbourline.com.au</a>',
            "Sales: sales@harbourline.com.au",
        ),
        phones_html=('<a href="tel:+61255504821">(02) 5550 4821</a>',),
        linkedin_href="https://www.linkedin.com/company/harbourline-software/",
        about_text="Founded in 2014 in Barangaroo, Harbourline is a team of 85 engineers, designers and customer specialists.",
        socials=("https://twitter.com/harbourline", "https://www.facebook.com/harbourlinesoftware"),
    ),
    Company(
        key="kookaburra",
        name="Kookaburra Analytics",
        tagline="Revenue analytics for B2B subscription businesses",
        description="Kookaburra Analytics turns billing and CRM data into revenue forecasts for B2B subscription companies.",
        style="classic",
        emails_html=("Write to us: insights [at] kookaburra-analytics [dot] com [dot] au",),
        phones_html=("Phone (02) 5550 1177", "Mobile 0491 570 156"),
        about_path="/about-us",
        contact_path="/contact-us",
        about_text="We are 40 staff in Surry Hills, working with more than 300 enterprise customers.",
    ),
    Company(
        key="opalledger",
        name="Opal Ledger",
        tagline="Close the books in days, not weeks",
        description="Opal Ledger is a financial close and reconciliation platform for enterprise finance teams.",
        style="onepage",
        emails_html=(
            '<a href="mailto:Finance.Team@OpalLedger.com.au?subject=Demo">Book a demo</a>',
            "accounts@opalledger.com.au",
        ),
        phones_html=('<a href="tel:1300975707">1300 975 707</a>',),
        linkedin_href="https://au.linkedin.com/company/OpalLedger",
        about_text="Opal Ledger employs 120 people in Sydney and Melbourne.",
    ),
    Company(
        key="wattlehr",
        name="Wattle HR",
        tagline="People platform for Australian enterprises",
        description="Wattle HR is the HR, payroll and compliance platform built for Australian awards and enterprise agreements.",
        style="modern",
        # Cloudflare-style protected address: people@wattlehr.com.au
        emails_html=(
            '<a href="/cdn-cgi/l/email-protection" class="__cf_email__" data-cfemail="{cf}">[email&#160;protected]</a>',
        ),
        phones_html=("Call us on 02 5550 3300",),
        about_path="/company",
        contact_path="/get-in-touch",
        about_text="Wattle HR has a team of 60 in Parramatta.",
    ),
    Company(
        key="circularquay",
        name="Circular Quay Labs",
        tagline="Developer platforms for regulated industries",
        description="Circular Quay Labs provides internal developer platforms for banks, insurers and government.",
        style="classic",
        emails_html=("platform (at) circularquaylabs (dot) io",),
        phones_html=("+61 2 5550 9090",),
        about_path="/team",
        robots="User-agent: *\nDisallow: /team\n",
        about_text="Our team of 25 platform engineers is private by policy.",
    ),
    Company(
        key="bondicloud",
        name="Bondi Cloud Systems",
        tagline="Managed Kubernetes for enterprise",
        description="Bondi Cloud Systems runs managed Kubernetes and cloud cost governance for enterprise IT.",
        style="modern",
        emails_html=(
            '<a href="mailto:support@bondicloud.com">support@bondicloud.com</a>',
            '<img src="/img/logo@2x.png" alt="">',
        ),
        phones_html=("Sydney +61 2 5550 2020", "San Francisco +1 415 555 2671"),
        about_text="Bondi Cloud Systems has over 150 employees across Sydney and San Francisco.",
    ),
    Company(
        key="jacaranda",
        name="Jacaranda CRM",
        tagline="Customer relationships for enterprise sales teams",
        description="Jacaranda CRM is a CRM for complex B2B sales cycles with account planning built in.",
        style="onepage",
        emails_html=('<a href="mailto:hello@jacarandacrm.com">hello@jacarandacrm.com</a>',),
        phones_html=('<a href="tel:+61-2-5550-6464">+61 2 5550 6464</a>',),
        linkedin_href="https://www.linkedin.com/company/jacaranda-crm",
        about_text="A team of 70 in Chippendale.",
    ),
    Company(
        key="southerncross",
        name="Southern Cross Security",
        tagline="Security operations for enterprise and government",
        description="Southern Cross Security delivers 24/7 managed detection and response for enterprise and government.",
        style="classic",
        emails_html=(
            '<a href="mailto:soc@southerncrosssecurity.com.au">SOC</a>',
            "Media: press@southerncrosssecurity.com.au",
        ),
        phones_html=("24/7 line: 1300 555 911", "Office: (02) 5550 7000"),
        about_text="Southern Cross Security is a team of 180 analysts and engineers.",
    ),
    Company(
        key="parramattapay",
        name="Parramatta Pay",
        tagline="B2B payments and invoicing",
        description="Parramatta Pay automates accounts payable and receivable for mid-market and enterprise businesses.",
        style="modern",
        emails_html=("Partnerships: partners@parramattapay.com.au",),
        phones_html=('<a href="tel:0255505050">02 5550 5050</a>',),
        contact_path="/get-in-touch",
        robots=None,  # no robots.txt at all (404): everything allowed
        about_text="Parramatta Pay processes A$2 billion a year for 900 businesses; we are 55 employees.",
    ),
    Company(
        key="bluemountains",
        name="Blue Mountains Data",
        tagline="Data platform for enterprise",
        description="",
        style="classic",
        emails_html=("info@bluemountainsdata.com.au",),
        phones_html=("Tel: 02 5550 8181 | Fax: 02 5550 8182",),
        about_text="Data engineering consultancy and platform, Katoomba and Sydney CBD.",
    ),
)

# LinkedIn company pages the demo search provider knows (as data: nothing is served for them).
LINKEDIN_RESULTS: tuple[tuple[str, str, str], ...] = (
    (
        "https://www.linkedin.com/company/harbourline-software/",
        "Harbourline Software | LinkedIn",
        "Harbourline Software | 2,310 followers on LinkedIn. Workflow automation for enterprise operations teams.",
    ),
    (
        "https://au.linkedin.com/company/opalledger",
        "Opal Ledger - LinkedIn",
        "Opal Ledger | Financial close for enterprise finance teams. Sydney, NSW.",
    ),
    (
        "https://www.linkedin.com/company/redfern-robotics",
        "Redfern Robotics | LinkedIn",
        "Redfern Robotics | Warehouse automation software for enterprise logistics. Redfern, New South Wales.",
    ),
    (
        "https://www.linkedin.com/company/Jacaranda-CRM/",
        "Jacaranda CRM: Overview | LinkedIn",
        "Jacaranda CRM | CRM for complex B2B sales. Chippendale, NSW.",
    ),
)
# Results of the web search that are not company sites (never fetched: directories are skipped).
DIRECTORY_RESULTS: tuple[tuple[str, str, str], ...] = (
    (
        "https://www.crunchbase.com/hub/sydney-saas-companies",
        "Sydney SaaS Companies - Crunchbase Hub",
        "List of SaaS companies in Sydney.",
    ),
    ("https://au.linkedin.com/company/harbourline-software", "Harbourline Software | LinkedIn", "Workflow automation."),
)


def synthetic_companies(count: int) -> tuple[Company, ...]:
    """`count` more companies in the same styles, for the benchmark's 50-site job."""
    styles = ("modern", "classic", "onepage")
    made = []
    for i in range(count):
        key = f"acme{i:03d}"
        made.append(
            Company(
                key=key,
                name=f"Acme Cloud {i:03d}",
                tagline="Enterprise SaaS made in Sydney",
                description=f"Acme Cloud {i:03d} builds enterprise SaaS for B2B teams in Sydney.",
                style=styles[i % 3],
                emails_html=(f'<a href="mailto:hello@{key}.com.au">hello@{key}.com.au</a>',),
                phones_html=(f"(02) 5550 {1000 + i:04d}",),
                linkedin_href=f"https://www.linkedin.com/company/{key}",
                about_text=f"A team of {20 + i} in Sydney.",
            )
        )
    return tuple(made)
