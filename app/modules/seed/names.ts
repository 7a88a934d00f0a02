import type { Country } from '#app/modules/vocabulary.ts';

// Given and family names by culture. An entry is "Latin" or "Latin|native script": the Latin form
// feeds the email address, the native one is sometimes the display name.

export interface Culture {
  first: readonly string[];
  last: readonly string[];
  /** Family name first in the native display form (East Asian order). */
  familyFirst?: boolean;
  /** Chance that the display name is written in the native script, when one is known. */
  nativeShare?: number;
}

const split = (text: string) => text.trim().split(/\s*,\s*/);

export const CULTURES = {
  anglo: {
    first: split(`James, Mary, Robert, Patricia, John, Jennifer, Michael, Linda, David, Elizabeth,
      William, Barbara, Richard, Susan, Joseph, Jessica, Thomas, Sarah, Chris, Karen, Daniel, Emily,
      Matthew, Ashley, Anthony, Megan, Mark, Hannah, Olivia, Liam, Noah, Emma, Ava, Sophia, Ethan,
      Harper, Mason, Chloe, Jack, Grace, Oliver, Amelia, Harry, Isla, George, Poppy, Zoë, Siobhán,
      Seán, Aoife, Niamh, Declan`),
    last: split(`Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor,
      Thomas, Moore, Jackson, Martin, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young,
      Allen, King, Wright, Scott, Green, Baker, Adams, Nelson, Hill, Campbell, Mitchell, Roberts,
      Carter, Phillips, Evans, Turner, Parker, Collins, Edwards, Stewart, Murphy, Kelly, O'Brien,
      O'Connor, O'Neill, McCarthy, Walsh, Byrne, Ryan, Fitzgerald, MacDonald, Hughes, Cook`),
  },
  hispanic: {
    first: split(`José, María, Juan, Guadalupe, Luis, Carmen, Carlos, Ana, Jorge, Sofía, Miguel,
      Valentina, Alejandro, Camila, Diego, Lucía, Santiago, Isabella, Mateo, Ximena, Javier, Paula,
      Andrés, Daniela, Fernando, Gabriela, Ricardo, Mariana, Pablo, Renata, Sebastián, Martina`),
    last: split(`García, Rodríguez, Martínez, Hernández, López, González, Pérez, Sánchez, Ramírez,
      Torres, Flores, Rivera, Gómez, Díaz, Morales, Reyes, Cruz, Ortiz, Gutiérrez, Chávez, Ramos,
      Ruiz, Álvarez, Mendoza, Castillo, Jiménez, Vargas, Romero, Herrera, Medina, Aguilar, Peña,
      de la Fuente, Núñez, Muñoz, Ibáñez`),
  },
  portuguese: {
    first: split(`João, Maria, Pedro, Ana, Lucas, Beatriz, Gabriel, Júlia, Rafael, Larissa, Felipe,
      Camila, Gustavo, Letícia, Thiago, Fernanda, Matheus, Mariana, Bruno, Luana, Tiago, Inês,
      Rodrigo, Leonor, André, Conceição`),
    last: split(`Silva, Santos, Oliveira, Souza, Pereira, Costa, Rodrigues, Almeida, Nascimento,
      Lima, Araújo, Fernandes, Carvalho, Gomes, Martins, Rocha, Ribeiro, Alves, Monteiro, Mendes,
      Barros, Freitas, Barbosa, Cardoso, Conceição, Gonçalves`),
  },
  german: {
    first:
      split(`Lukas, Anna, Leon, Mia, Finn, Emma, Jonas, Hannah, Paul, Lea, Felix, Lena, Maximilian,
      Sophie, Elias, Marie, Jürgen, Ursula, Klaus, Sabine, Matthias, Katrin, Stefan, Birgit, Jörg,
      Gudrun, Luca, Noémie, Reto, Urs`),
    last: split(`Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann,
      Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun,
      Krüger, Hofmann, Hartmann, Lange, Weiß, Huber, Gruber, Steiner, Brunner, Keller, von Bülow`),
  },
  french: {
    first:
      split(`Jean, Marie, Pierre, Camille, Louis, Léa, Hugo, Chloé, Gabriel, Manon, Arthur, Inès,
      Jules, Jade, Raphaël, Louise, Théo, Zoé, Étienne, Amélie, François, Hélène, Anaïs, Benoît,
      Maëlle, Noël, Cécile, Jérôme`),
    last: split(`Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau,
      Simon, Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel,
      Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Faure, Rousseau, Peeters, Janssens,
      Maes, D'Amboise, Lefébure`),
  },
  italian: {
    first: split(`Giuseppe, Maria, Giovanni, Anna, Antonio, Giulia, Francesco, Sofia, Alessandro,
      Aurora, Lorenzo, Alice, Leonardo, Ginevra, Matteo, Beatrice, Niccolò, Chiara, Andrea, Martina,
      Gianluca, Federica, Nicolò, Ilaria`),
    last: split(`Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco,
      Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti, D'Angelo,
      Dell'Acqua, Fontana, Caruso, Santoro, Barbieri`),
  },
  dutch: {
    first: split(`Daan, Emma, Sem, Julia, Lucas, Mila, Levi, Tess, Finn, Sophie, Milan, Zoë, Bram,
      Fenna, Thijs, Sanne, Joost, Anouk, Pieter, Lieke, Ruben, Maartje`),
    last: split(`de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, Smit,
      Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker, Brouwer,
      de Wit, Dijkstra, Smits, de Graaf, van der Meer`),
  },
  nordic: {
    first: split(`Lars, Anna, Erik, Ingrid, Johan, Astrid, Nils, Freja, Oskar, Maja, Emil, Elsa,
      Mikael, Sofie, Anders, Karin, Henrik, Sigrid, Mads, Linnea, Björn, Åsa, Søren, Eino, Aino,
      Juha, Päivi, Jörgen, Ståle`),
    last: split(`Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson,
      Svensson, Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nielsen, Jensen, Kristensen,
      Korhonen, Virtanen, Mäkinen, Nieminen, Mäkelä, Hämäläinen, Lindqvist, Bergström, Sjöberg,
      Østergaard, Haugen`),
  },
  slavic: {
    first:
      split(`Jakub, Anna, Jan, Zuzana, Piotr, Katarzyna, Krzysztof, Małgorzata, Tomasz, Agnieszka,
      Łukasz, Magdalena, Michał, Joanna, Paweł, Ewa, Marek, Kateřina, Petr, Lucie, Ondřej, Tereza,
      Wojciech, Barbora, Jiří, Zofia`),
    last: split(`Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński,
      Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Novák, Svoboda, Novotný, Dvořák,
      Černý, Procházka, Kučera, Veselý, Horák, Němec, Pokorný`),
  },
  ukrainian: {
    first: split(`Oleksandr|Олександр, Olena|Олена, Andriy|Андрій, Iryna|Ірина, Dmytro|Дмитро,
      Nataliia|Наталія, Serhiy|Сергій, Oksana|Оксана, Mykola|Микола, Tetiana|Тетяна, Yuriy|Юрій,
      Kateryna|Катерина, Bohdan|Богдан, Sofiia|Софія, Taras|Тарас, Yulia|Юлія`),
    last: split(`Melnyk|Мельник, Shevchenko|Шевченко, Boyko|Бойко, Kovalenko|Коваленко,
      Bondarenko|Бондаренко, Tkachenko|Ткаченко, Kovalchuk|Ковальчук, Kravchenko|Кравченко,
      Oliynyk|Олійник, Shevchuk|Шевчук, Polishchuk|Поліщук, Lysenko|Лисенко, Savchenko|Савченко`),
    nativeShare: 0.5,
  },
  romanian: {
    first: split(`Andrei, Maria, Alexandru, Elena, Ionuț, Ioana, Mihai, Andreea, Ștefan, Cristina,
      Gabriel, Alexandra, Răzvan, Bianca, Vlad, Mădălina`),
    last: split(`Popescu, Ionescu, Popa, Pop, Radu, Dumitru, Stan, Stoica, Gheorghe, Matei, Ciobanu,
      Rusu, Munteanu, Constantinescu, Dobre, Bălan, Țăranu`),
  },
  greek: {
    first: split(`Giorgos|Γιώργος, Maria|Μαρία, Dimitris|Δημήτρης, Eleni|Ελένη, Nikos|Νίκος,
      Katerina|Κατερίνα, Kostas|Κώστας, Sofia|Σοφία, Yannis|Γιάννης, Anna|Άννα, Christos|Χρήστος,
      Despina|Δέσποινα`),
    last: split(`Papadopoulos|Παπαδόπουλος, Pappas|Παππάς, Georgiou|Γεωργίου, Nikolaidis|Νικολαΐδης,
      Vlachos|Βλάχος, Oikonomou|Οικονόμου, Alexiou|Αλεξίου, Karagiannis|Καραγιάννης,
      Dimitriou|Δημητρίου, Makris|Μακρής`),
    nativeShare: 0.4,
  },
  turkish: {
    first: split(`Mehmet, Ayşe, Mustafa, Fatma, Ahmet, Emine, Ali, Hatice, Hüseyin, Zeynep, Emre,
      Elif, Burak, Merve, Can, Büşra, Oğuz, Gülşen, İbrahim, Şeyma, Yusuf, Özlem`),
    last: split(`Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir,
      Arslan, Doğan, Kılıç, Aslan, Çetin, Kara, Koç, Kurt, Özkan, Şimşek, Güneş, Erdoğan`),
  },
  arabic: {
    first: split(`Mohammed|محمد, Fatima|فاطمة, Ahmed|أحمد, Aisha|عائشة, Omar|عمر, Mariam|مريم,
      Youssef|يوسف, Nour|نور, Khalid|خالد, Layla|ليلى, Hassan|حسن, Salma|سلمى, Abdullah|عبدالله,
      Huda|هدى, Karim|كريم, Yasmin|ياسمين, Tariq|طارق, Rania|رانيا`),
    last: split(`Al-Sayed|السيد, Hassan|حسن, Ibrahim|إبراهيم, Mahmoud|محمود, Abdelrahman|عبدالرحمن,
      Al-Farsi|الفارسي, Al-Harbi|الحربي, Al-Qahtani|القحطاني, Mansour|منصور, Khalil|خليل,
      Saleh|صالح, Haddad|حداد, Nasser|ناصر, El-Masry|المصري, Al-Otaibi|العتيبي`),
    nativeShare: 0.45,
  },
  hebrew: {
    first: split(`Noam|נועם, Noa|נועה, David|דוד, Tamar|תמר, Yosef|יוסף, Maya|מאיה, Itai|איתי,
      Shira|שירה, Ariel|אריאל, Yael|יעל, Eitan|איתן, Michal|מיכל, Omer|עומר, Roni|רוני`),
    last: split(`Cohen|כהן, Levi|לוי, Mizrahi|מזרחי, Peretz|פרץ, Biton|ביטון, Dahan|דהן,
      Avraham|אברהם, Friedman|פרידמן, Azoulay|אזולאי, Katz|כץ, Ben-David|בן דוד, Shapiro|שפירא`),
    nativeShare: 0.45,
  },
  african: {
    first: split(`Chinedu, Ngozi, Oluwaseun, Aisha, Emeka, Funmilayo, Tunde, Chiamaka, Ifeanyi,
      Amara, Kwame, Akosua, Wanjiru, Kamau, Achieng, Otieno, Njeri, Thabo, Lerato, Sipho, Nomvula,
      Bongani, Zanele, Kagiso, Adaeze, Babajide`),
    last: split(`Okafor, Adeyemi, Okonkwo, Eze, Balogun, Ogunleye, Nwosu, Adebayo, Mensah, Owusu,
      Mwangi, Ochieng, Kamau, Wanjiku, Otieno, Njoroge, Nkosi, Dlamini, Ndlovu, Khumalo, Mokoena,
      Van der Merwe, Botha, N'Diaye, Diallo`),
  },
  indian: {
    first: split(`Aarav|आरव, Priya|प्रिया, Vivaan|विवान, Ananya|अनन्या, Aditya|आदित्य, Diya|दिया,
      Arjun|अर्जुन, Ishita|इशिता, Rohan|रोहन, Kavya|काव्या, Rahul|राहुल, Pooja|पूजा, Vikram|विक्रम,
      Sneha|स्नेहा, Sanjay|संजय, Lakshmi|लक्ष्मी, Imran, Fatima, Ayesha, Bilal, Farhan, Nusrat,
      Tahmina, Rafiq, Sadia, Zubair`),
    last: split(`Sharma|शर्मा, Verma|वर्मा, Gupta|गुप्ता, Singh|सिंह, Kumar|कुमार, Patel|पटेल,
      Reddy|रेड्डी, Iyer|अय्यर, Nair|नायर, Mehta|मेहता, Joshi|जोशी, Rao|राव, Chatterjee|चटर्जी,
      Mukherjee|मुखर्जी, Desai|देसाई, Khan, Ahmed, Hussain, Chowdhury, Rahman, Siddiqui, Malik,
      Qureshi, Islam, Butt`),
    nativeShare: 0.15,
  },
  chinese: {
    first: split(`Wei|伟, Fang|芳, Jing|静, Lei|磊, Min|敏, Yang|洋, Li|丽, Qiang|强, Jun|军,
      Xiuying|秀英, Hao|浩, Yan|燕, Jie|杰, Xin|欣, Yi|怡, Zihan|子涵, Yuxuan|宇轩, Haoran|浩然,
      Shufen|淑芬, Chih-hao|志豪, Ya-ting|雅婷, Kevin, Grace, Vincent, Iris`),
    last: split(`Wang|王, Li|李, Zhang|张, Liu|刘, Chen|陈, Yang|杨, Huang|黄, Zhao|赵, Wu|吴,
      Zhou|周, Xu|徐, Sun|孙, Ma|马, Zhu|朱, Hu|胡, Guo|郭, He|何, Lin|林, Luo|罗, Gao|高,
      Tsai|蔡, Hsu|許, Lee|李`),
    familyFirst: true,
    nativeShare: 0.55,
  },
  japanese: {
    first: split(`Haruto|陽翔, Yui|結衣, Sota|蒼太, Hina|陽菜, Yuto|悠斗, Sakura|さくら, Ren|蓮,
      Aoi|葵, Takumi|拓海, Mei|芽依, Kenji|健二, Yoko|洋子, Hiroshi|浩, Keiko|恵子, Daiki|大輝,
      Misaki|美咲, Shota|翔太, Ayaka|彩花, Riku|陸, Nanami|七海`),
    last: split(`Sato|佐藤, Suzuki|鈴木, Takahashi|高橋, Tanaka|田中, Watanabe|渡辺, Ito|伊藤,
      Yamamoto|山本, Nakamura|中村, Kobayashi|小林, Kato|加藤, Yoshida|吉田, Yamada|山田,
      Sasaki|佐々木, Yamaguchi|山口, Matsumoto|松本, Inoue|井上, Kimura|木村, Shimizu|清水`),
    familyFirst: true,
    nativeShare: 0.6,
  },
  korean: {
    first: split(`Min-jun|민준, Seo-yeon|서연, Ji-ho|지호, Ha-eun|하은, Do-yun|도윤, Ji-woo|지우,
      Seo-jun|서준, Su-bin|수빈, Hyun-woo|현우, Ye-jin|예진, Joon-young|준영, Eun-ji|은지,
      Sung-min|성민, Da-eun|다은`),
    last: split(`Kim|김, Lee|이, Park|박, Choi|최, Jung|정, Kang|강, Cho|조, Yoon|윤, Jang|장,
      Lim|임, Han|한, Oh|오, Seo|서, Shin|신`),
    familyFirst: true,
    nativeShare: 0.6,
  },
  southeastAsian: {
    first: split(`Anh, Minh, Linh, Huong|Hương, Tuan|Tuấn, Trang,
      Somchai|สมชาย, Siriporn|ศิริพร, Nattapong|ณัฐพงศ์, Kanya|กัญญา, Budi, Siti, Agus, Dewi, Putri,
      Rizky, Ahmad, Nurul, Aiman, Farah, Juan Carlos, Maria Clara, Jose Mari, Angelica, Mark Anthony,
      Wei Ling, Jun Jie`),
    last: split(`Nguyen|Nguyễn, Tran|Trần, Le|Lê, Pham|Phạm, Hoang|Hoàng, Vo|Võ, Saetang|แซ่ตั้ง,
      Srisuk|ศรีสุข, Wongsakul|วงศ์สกุล, Santoso, Wijaya, Hidayat, Kusuma, Pratama, Abdullah,
      Ismail, Rahim, Ibrahim, Tan, Lim, Ng, Ong, dela Cruz, Reyes, Bautista, Santos, Villanueva,
      Mendoza`),
    nativeShare: 0.2,
  },
  oceanic: {
    first: split(`Jack, Charlotte, William, Isla, Oliver, Mia, Lachlan, Matilda, Cooper, Ruby,
      Aroha, Tama, Mere, Wiremu, Hine, Nikau`),
    last: split(`Smith, Jones, Williams, Brown, Wilson, Taylor, Nguyen, Ngata, Parata, Walker,
      Tipene, Te Whata, Mitchell, Kelly`),
  },
} satisfies Record<string, Culture>;

export type CultureName = keyof typeof CULTURES;

type Mix = Partial<Record<CultureName, number>>;

const global: Mix = {
  anglo: 1,
  hispanic: 1,
  indian: 1,
  chinese: 1,
  arabic: 0.5,
  african: 0.5,
  southeastAsian: 0.5,
  slavic: 0.3,
  korean: 0.3,
  japanese: 0.2,
};

// Which cultures a country's users are drawn from. `global` is mixed into every country at the
// weight given by IMMIGRANT_SHARE.
export const COUNTRY_CULTURES: Record<Country, Mix> = {
  US: {
    anglo: 6,
    hispanic: 2.5,
    african: 0.6,
    indian: 0.5,
    chinese: 0.5,
    korean: 0.2,
    arabic: 0.2,
  },
  CA: { anglo: 5, french: 1.5, chinese: 0.6, indian: 0.6, hispanic: 0.2 },
  MX: { hispanic: 1 },
  BR: { portuguese: 1, italian: 0.05, japanese: 0.03 },
  AR: { hispanic: 1, italian: 0.2 },
  CL: { hispanic: 1 },
  CO: { hispanic: 1 },
  GB: { anglo: 5, indian: 0.8, african: 0.3, slavic: 0.2 },
  IE: { anglo: 1 },
  FR: { french: 5, arabic: 0.7, african: 0.3 },
  DE: { german: 5, turkish: 0.6, slavic: 0.3 },
  NL: { dutch: 5, turkish: 0.3, arabic: 0.3 },
  BE: { dutch: 1, french: 1 },
  ES: { hispanic: 1 },
  PT: { portuguese: 1 },
  IT: { italian: 1 },
  CH: { german: 3, french: 1.2, italian: 0.5 },
  AT: { german: 1 },
  SE: { nordic: 1 },
  NO: { nordic: 1 },
  DK: { nordic: 1 },
  FI: { nordic: 1 },
  PL: { slavic: 1 },
  CZ: { slavic: 1 },
  RO: { romanian: 1 },
  GR: { greek: 1 },
  TR: { turkish: 1 },
  IL: { hebrew: 4, arabic: 1 },
  EG: { arabic: 1 },
  NG: { african: 1 },
  KE: { african: 1 },
  ZA: { african: 3, anglo: 1 },
  AE: { arabic: 3, indian: 2 },
  SA: { arabic: 1 },
  IN: { indian: 1 },
  PK: { indian: 1 },
  BD: { indian: 1 },
  ID: { southeastAsian: 1 },
  PH: { southeastAsian: 1 },
  VN: { southeastAsian: 1 },
  TH: { southeastAsian: 1 },
  MY: { southeastAsian: 2, chinese: 1, indian: 0.4 },
  SG: { chinese: 3, southeastAsian: 1, indian: 0.5 },
  JP: { japanese: 1 },
  KR: { korean: 1 },
  CN: { chinese: 1 },
  TW: { chinese: 1 },
  AU: { anglo: 4, oceanic: 1, chinese: 0.5, southeastAsian: 0.3 },
  NZ: { oceanic: 2, anglo: 2 },
  UA: { ukrainian: 1 },
};

export const IMMIGRANT_SHARE = 0.08;
export const GLOBAL_CULTURES = global;

/** Names with an apostrophe, given to the hostile users so their emails carry one too. */
export const APOSTROPHE_NAMES = ["O'Brien", "D'Angelo", "O'Connor", "N'Diaye", "Dell'Acqua"];
